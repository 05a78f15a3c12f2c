import Crypto
import Foundation
import StoreTestSupport
import Testing

@testable import AWSSigning
@testable import DynamoDB

/// botocore, run from Python, as a second independent signer.
enum Botocore {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/botocore_sign.py")

    /// Whether `python3` can import botocore here.
    static let isAvailable = Python.canImport("botocore")

    static func run(_ arguments: [String], input: Data) throws -> (status: Int32, output: Data, errors: String) {
        try Python.run(arguments, input: input)
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
    /// Signed as S3 signs (botocore's `S3SigV4Auth`): the path as sent, `x-amz-content-sha256`.
    var s3: Bool?
    /// The payload hash S3 is told; `nil` for S3 cases has botocore hash the body.
    var contentSHA256: String?
}

struct BotocoreSignature: Codable {
    var authorization: String
    var amzDate: String
    var securityToken: String?
    var contentSHA256: String?
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
        // A service other than S3 signs the sent (once-encoded) path encoded again.
        CrossCheckCase(
            method: "GET", path: "/a b/ü~+=%/x", headers: [["host", "example.amazonaws.com"]],
            body: "", region: "us-west-2", service: "service", date: "2015-08-30T12:36:00Z"
        ),
    ]

    /// S3 requests as the S3 client sends them: paths encoded once and signed as sent, and
    /// `x-amz-content-sha256` given (a file's hash, `UNSIGNED-PAYLOAD`) or the body's.
    static let s3Cases: [CrossCheckCase] = [
        // PutObject, virtual-hosted, the file's SHA-256 given.
        CrossCheckCase(
            method: "PUT", path: "/attachments/sha256/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            headers: [["host", "qualia-attachments.s3.eu-west-1.amazonaws.com"], ["content-type", "application/pdf"]],
            body: "", region: "eu-west-1", service: "s3", date: "2026-11-25T08:00:00Z", s3: true,
            contentSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        ),
        // GetObject, path-style, a key with spaces, `+`, `=`, `~` and unicode, a range, unsigned payload.
        CrossCheckCase(
            method: "GET", path: "/bucket/a b/ü+x=y~z (1).txt", headers: [["host", "127.0.0.1:5000"], ["range", "bytes=0-0"]],
            body: "", region: "us-east-1", service: "s3", date: "2026-01-31T23:59:59Z", s3: true, contentSHA256: "UNSIGNED-PAYLOAD"
        ),
        // UploadPart with a session token and an uploadId that needs encoding.
        CrossCheckCase(
            method: "PUT", path: "/bucket/big file.bin", query: [["uploadId", "2~abc+def/ghi=="], ["partNumber", "3"]],
            headers: [["host", "bucket.s3.us-east-1.amazonaws.com"]], body: "",
            sessionToken: "FwoGZXIvYXdzEJr//////////wEaDEXAMPLETOKEN+/=abc", region: "us-east-1", service: "s3",
            date: "2025-06-30T12:00:00Z", s3: true, contentSHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        ),
        // CreateMultipartUpload (`?uploads`, an empty value), botocore hashing the empty body.
        CrossCheckCase(
            method: "POST", path: "/bucket/attachments/sha256/ab", query: [["uploads", ""]],
            headers: [["host", "127.0.0.1:5000"], ["content-type", "application/octet-stream"]], body: "",
            region: "us-east-1", service: "s3", date: "2026-11-25T08:00:00Z", s3: true
        ),
        // CompleteMultipartUpload: an XML body, hashed by botocore and by us.
        CrossCheckCase(
            method: "POST", path: "/bucket/k", query: [["uploadId", "xyz"]],
            headers: [["host", "bucket.s3.ap-southeast-2.amazonaws.com"], ["content-type", "application/xml"]],
            body: #"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>"a"</ETag></Part></CompleteMultipartUpload>"#,
            sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE", region: "ap-southeast-2", service: "s3", date: "2024-02-29T00:00:00Z", s3: true
        ),
    ]

    @Test func signaturesMatchBotocore() throws {
        try Self.check(Self.cases)
    }

    @Test func s3SignaturesMatchBotocoresS3Signer() throws {
        try Self.check(Self.s3Cases)
    }

    static func check(_ cases: [CrossCheckCase]) throws {
        let input = try JSONEncoder().encode(cases)
        let result = try Botocore.run([Botocore.script.path], input: input)
        try #require(result.status == 0, "botocore_sign.py failed: \(result.errors)")
        let expected = try JSONDecoder().decode([BotocoreSignature].self, from: result.output)
        try #require(expected.count == cases.count)

        for (testCase, botocore) in zip(cases, expected) {
            let signer = SigV4Signer(
                credentials: AWSCredentials(accessKeyID: testCase.accessKeyID, secretAccessKey: testCase.secretAccessKey, sessionToken: testCase.sessionToken),
                region: testCase.region, service: testCase.service
            )
            let body = Array(testCase.body.utf8)
            let isS3 = testCase.s3 == true
            let request = SigV4Signer.Request(
                method: testCase.method, path: testCase.path, query: testCase.query.map { ($0[0], $0[1]) },
                headers: testCase.headers.map { ($0[0], $0[1]) }, body: body,
                contentSHA256: isS3 ? testCase.contentSHA256 ?? SHA256.hash(data: body).hexString : nil,
                pathEncoding: isS3 ? .encodedOnce : .encodedTwice
            )
            let headers = signer.signingHeaders(for: request, date: try Date(testCase.date, strategy: .iso8601))
            let value = { (name: String) in headers.first { $0.name == name }?.value }
            #expect(value("authorization") == botocore.authorization, "\(testCase.method) \(testCase.path) \(testCase.region) \(testCase.date)")
            #expect(value("x-amz-date") == botocore.amzDate)
            #expect(value("x-amz-security-token") == botocore.securityToken)
            #expect(value("x-amz-content-sha256") == botocore.contentSHA256)
        }
    }
}
