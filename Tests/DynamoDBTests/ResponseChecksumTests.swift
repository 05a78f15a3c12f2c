import AWSSigning
import AsyncHTTPClient
import Foundation
import Logging
import MetricsTestKit
import NIOCore
import NIOHTTP1
import StoreTestSupport
import Testing

@testable import DynamoDB

/// `x-amz-crc32`: DynamoDB's checksum of each answer, checked on every answer that has one.
@Suite struct ResponseChecksumTests {
    static let activeTable = DynamoDBClientTransportTests.activeTable

    @Test func crc32MatchesTheKnownVectors() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 1_095_738_169)
        // Python's binascii.crc32(bytes(range(256)) * 4), the checksum botocore computes.
        #expect(CRC32.checksum(Array((0..<1024).map { UInt8($0 % 256) })) == 3_070_970_918)
        // A collection without contiguous storage gives the same checksum.
        #expect(CRC32.checksum("123456789".utf8.lazy.map { $0 }) == 0xCBF4_3926)
    }

    @Test func aMissingHeaderIsAcceptedAndAMalformedOneIsNot() {
        let body = Array("123456789".utf8)
        #expect(ResponseChecksum.matches(headerValue: nil, body: body))
        #expect(ResponseChecksum.matches(headerValue: "3421780262", body: body))
        #expect(ResponseChecksum.matches(headerValue: " 3421780262 ", body: body))
        #expect(!ResponseChecksum.matches(headerValue: "3421780263", body: body))
        #expect(!ResponseChecksum.matches(headerValue: "0xCBF43926", body: body))
        #expect(!ResponseChecksum.matches(headerValue: "", body: body))
        #expect(!ResponseChecksum.matches(headerValue: "4294967296", body: body))
    }

    /// An answer with `body` and a checksum that is right, or off by one.
    static func answer(status: Int = 200, _ body: String, checksumIsRight: Bool) -> RecordingHTTPServer.Answer {
        let checksum = CRC32.checksum(Array(body.utf8))
        let sent = checksumIsRight ? checksum : checksum &+ 1
        return .init(status: status, headers: [("content-type", "application/x-amz-json-1.0"), ("x-amz-crc32", String(sent))], body: body)
    }

    func withClient(_ endpoint: String, metrics: TestMetrics = TestMetrics(), _ body: (DynamoDBClient) async throws -> Void) async throws {
        try await DynamoDBClient(
            configuration: .init(region: "us-east-1", endpoint: endpoint, retryPolicy: DynamoDBClientTransportTests.fastRetries, metricsFactory: metrics),
            credentialProvider: StaticCredentialProvider(AWSCredentials(accessKeyID: "AKIDTEST", secretAccessKey: "secret")),
            logger: Logger(label: "test")
        ).shuttingDown(after: body)
    }

    @Test func aDamagedAnswerIsRetriedAndTheRightOneTaken() async throws {
        let metrics = TestMetrics()
        try await RecordingHTTPServer.run({ _, index in Self.answer(Self.activeTable, checksumIsRight: index > 0) }) { server, endpoint in
            try await withClient(endpoint, metrics: metrics) { client in
                let status = try await client.describeTable("t").tableStatus
                #expect(status == "ACTIVE")
            }
            #expect(server.received.count == 2)
        }
        let retries = try metrics.expectCounter(DynamoDBClient.retriesMetric, [("operation", "DescribeTable"), ("reason", "checksum")])
        #expect(retries.totalValue == 1)
    }

    @Test func aDamagedErrorAnswerIsRetriedRatherThanBelieved() async throws {
        // The first answer reads as a ValidationException, which is never retried, but its
        // checksum says it is not what DynamoDB sent.
        let validation = DynamoDBClientTransportTests.error("ValidationException")
        try await RecordingHTTPServer.run({ _, index in
            index == 0 ? Self.answer(status: 400, validation, checksumIsRight: false) : Self.answer(Self.activeTable, checksumIsRight: true)
        }) { server, endpoint in
            try await withClient(endpoint) { client in
                let status = try await client.describeTable("t").tableStatus
                #expect(status == "ACTIVE")
            }
            #expect(server.received.count == 2)
        }
    }

    @Test func answersThatAlwaysMismatchExhaustTheRetriesWithAClearError() async throws {
        try await RecordingHTTPServer.run({ _, _ in Self.answer(Self.activeTable, checksumIsRight: false) }) { server, endpoint in
            try await withClient(endpoint) { client in
                let error = await #expect(throws: DynamoDBError.self) { try await client.describeTable("t") }
                #expect(error?.code == DynamoDBError.checksumMismatchCode)
                #expect(error?.isChecksumMismatch == true && error?.isRetryable == true)
                #expect(error?.description == "DynamoDB ChecksumMismatch (HTTP 200): DescribeTable's answer does not match its x-amz-crc32 checksum")
            }
            #expect(server.received.count == DynamoDBClientTransportTests.fastRetries.maxAttempts)
        }
    }

    @Test func anAnswerWithoutAChecksumIsTakenAsItIs() async throws {
        try await RecordingHTTPServer.run({ _, _ in .init(status: 200, body: Self.activeTable) }) { server, endpoint in
            try await withClient(endpoint) { client in
                let status = try await client.describeTable("t").tableStatus
                #expect(status == "ACTIVE")
            }
            #expect(server.received.count == 1)
        }
    }
}

/// moto sends `x-amz-crc32` on its DynamoDB answers, as DynamoDB does: our checksum of its
/// bodies must be the one it sends, or every call of the moto suites would fail.
@Suite(.enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
struct MotoResponseChecksumTests {
    /// Sends one signed DynamoDB request to moto, outside the client, and returns the answer's
    /// status, `x-amz-crc32` and body.
    func rawCall(_ operation: String, body: String, endpoint: String) async throws -> (status: UInt, checksum: String?, body: [UInt8]) {
        let url = try #require(URL(string: endpoint))
        let host = url.port.map { "\(url.host ?? ""):\($0)" } ?? (url.host ?? "")
        let headers: [(name: String, value: String)] = [
            ("host", host), ("content-type", "application/x-amz-json-1.0"), ("x-amz-target", "DynamoDB_20120810.\(operation)"),
        ]
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing"), region: "us-east-1", service: "dynamodb")
        let signing = signer.signingHeaders(for: .init(method: "POST", headers: headers, body: Array(body.utf8)), date: Date())
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        for (name, value) in headers + signing { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 24)
        return (response.status.code, response.headers.first(name: "x-amz-crc32"), Array(bytes.readableBytesView))
    }

    @Test func motoSendsTheChecksumWeCompute() async throws {
        let endpoint = try #require(MotoServer.endpoint)
        let client = try MotoServer.makeClient()
        let table = try await client.shuttingDown { client in try await MotoServer.createTable(client: client) }
        let calls = [
            ("DescribeTable", #"{"TableName":"\#(table)"}"#),
            ("PutItem", #"{"TableName":"\#(table)","Item":{"PK":{"S":"MESSAGE#crc"},"SK":{"S":"chat#1"},"text":{"S":"héllo 😀"}}}"#),
            ("GetItem", #"{"TableName":"\#(table)","Key":{"PK":{"S":"MESSAGE#crc"},"SK":{"S":"chat#1"}}}"#),
            // An error answer: moto checksums those too, or sends none (then nothing is checked).
            ("GetItem", #"{"TableName":"no-such-table-crc","Key":{"PK":{"S":"x"},"SK":{"S":"y"}}}"#),
        ]
        var checked = 0
        for (operation, body) in calls {
            let answer = try await rawCall(operation, body: body, endpoint: endpoint)
            if answer.status == 200 { #expect(answer.checksum != nil, "moto sent no x-amz-crc32 on \(operation)") }
            if let checksum = answer.checksum {
                #expect(UInt32(checksum) == CRC32.checksum(answer.body), "\(operation): \(String(decoding: answer.body, as: UTF8.self))")
                checked += 1
            }
        }
        #expect(checked >= 3)
    }
}
