import Foundation
import StoreTestSupport
import Testing

@testable import AWSSigning
@testable import DynamoDB

/// botocore, run from Python, as a second independent signer.
enum Botocore {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/botocore_sign.py")

    /// Whether `python3` can import botocore here.
    static let isAvailable: Bool = (try? run(["-c", "import botocore"], input: Data()).status) == 0

    static func run(_ arguments: [String], input: Data) throws -> (status: Int32, output: Data, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output, errors)
    }
}

struct CrossCheckCase: Codable {
    var method = "POST"
    var path = "/"
    var query: [[String]] = []
    var headers: [[String]]
    var body: String
    var accessKeyID = "AKIAIOSFODNN7EXAMPLE"
    var secretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    var sessionToken: String?
    var region: String
    var service = "dynamodb"
    var date: String
}

struct BotocoreSignature: Codable {
    var authorization: String
    var amzDate: String
    var securityToken: String?
}

@Suite(.enabled(if: Botocore.isAvailable || MotoServer.isCI, "botocore cross-check skipped: python3 cannot import botocore (pip install botocore)"))
struct BotocoreCrossCheckTests {
    static func dynamoDBHeaders(_ operation: String, host: String = "dynamodb.us-east-1.amazonaws.com") -> [[String]] {
        [["host", host], ["content-type", "application/x-amz-json-1.0"], ["x-amz-target", "DynamoDB_20120810.\(operation)"]]
    }

    static let cases: [CrossCheckCase] = [
        CrossCheckCase(
            headers: dynamoDBHeaders("PutItem"),
            body: ##"{"TableName":"qualia-messages","Item":{"PK":{"S":"MESSAGE#QO-123456"},"text":{"S":"héllo 😀 \"quoted\""},"read":{"BOOL":false},"timestamp":{"N":"1761647400000"}}}"##,
            region: "us-east-1", date: "2025-10-28T10:30:00Z"
        ),
        CrossCheckCase(
            headers: dynamoDBHeaders("Query"),
            body: ##"{"TableName":"qualia-messages","KeyConditionExpression":"#pk = :pk","ExpressionAttributeNames":{"#pk":"PK"},"ExpressionAttributeValues":{":pk":{"S":"MESSAGE#QO-1"}},"ConsistentRead":true}"##,
            sessionToken: "FwoGZXIvYXdzEJr//////////wEaDEXAMPLETOKEN+/=abc", region: "us-east-1", date: "2026-11-24T23:59:59Z"
        ),
        CrossCheckCase(
            headers: dynamoDBHeaders("DescribeTable", host: "dynamodb.eu-west-1.amazonaws.com"),
            body: #"{"TableName":"qualia-messages"}"#,
            sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE", region: "eu-west-1", date: "2024-02-29T00:00:00Z"
        ),
        CrossCheckCase(
            headers: dynamoDBHeaders("CreateTable", host: "127.0.0.1:5000"),
            body: "{}", region: "ap-southeast-2", date: "2030-01-01T12:00:00Z"
        ),
        CrossCheckCase(
            method: "GET", query: [["b", "2"], ["a", "x y/z"], ["a", "1"], ["empty", ""], ["ü", "é=&"]],
            headers: [["host", "example.amazonaws.com"], ["x-custom", "  spaced   out  value "]],
            body: "", region: "us-west-2", service: "service", date: "2015-08-30T12:36:00Z"
        ),
    ]

    @Test func signaturesMatchBotocore() throws {
        let input = try JSONEncoder().encode(Self.cases)
        let result = try Botocore.run([Botocore.script.path], input: input)
        try #require(result.status == 0, "botocore_sign.py failed: \(result.errors)")
        let expected = try JSONDecoder().decode([BotocoreSignature].self, from: result.output)
        try #require(expected.count == Self.cases.count)

        for (testCase, botocore) in zip(Self.cases, expected) {
            let signer = SigV4Signer(
                credentials: AWSCredentials(accessKeyID: testCase.accessKeyID, secretAccessKey: testCase.secretAccessKey, sessionToken: testCase.sessionToken),
                region: testCase.region, service: testCase.service
            )
            let request = SigV4Signer.Request(
                method: testCase.method, path: testCase.path, query: testCase.query.map { ($0[0], $0[1]) },
                headers: testCase.headers.map { ($0[0], $0[1]) }, body: Array(testCase.body.utf8)
            )
            let headers = signer.signingHeaders(for: request, date: try Date(testCase.date, strategy: .iso8601))
            let value = { (name: String) in headers.first { $0.name == name }?.value }
            #expect(value("authorization") == botocore.authorization, "\(testCase.region) \(testCase.date)")
            #expect(value("x-amz-date") == botocore.amzDate)
            #expect(value("x-amz-security-token") == botocore.securityToken)
        }
    }
}
