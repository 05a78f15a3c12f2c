import AWSSigning
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import StoreTestSupport
import Testing

@testable import S3

/// How the S3 client behaves when S3 fails: what it retries, what it does not, and that a
/// broken multipart upload leaves no parts behind.
@Suite struct S3ClientFailureTests {
    /// Runs `body` with a client for `endpoint`, shut down afterwards whether `body` threw or not.
    static func withClient<T>(endpoint: String, _ body: (S3Client) async throws -> T) async throws -> T {
        let client = try S3Client(
            configuration: .init(region: "us-east-1", endpoint: endpoint, baseDelay: .milliseconds(10)),
            credentialProvider: StaticCredentialProvider(AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing")),
            logger: Logger(label: "test")
        )
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    static func errorBody(_ code: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>\(code)</Code><Message>scripted</Message></Error>"
    }

    @Test func slowDownAndServerErrorsAreRetriedAndTheFileIsSentAgain() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("file")
        try Data(patternBytes(count: 600_000)).write(to: URL(fileURLWithPath: path))
        let received = try await ScriptedDynamoDBEndpoint.run({ request in
            switch request.index {
            case 0: .answer(status: 503, body: Self.errorBody("SlowDown"))
            case 1: .answer(status: 500, body: Self.errorBody("InternalError"))
            default: .answer(status: 200, body: "")
            }
        }) { endpoint, url in
            try await Self.withClient(endpoint: url) { client in
                try await client.putObject(
                    bucket: "b", key: "k", fileAt: path, size: 600_000, sha256: SHA256Hex.of(patternBytes(count: 600_000)), contentType: "x/y"
                )
            }
            return endpoint.received.count
        }
        #expect(received == 3)
    }

    @Test func aClientErrorIsNotRetriedAndCarriesS3sCode() async throws {
        let (error, received) = try await ScriptedDynamoDBEndpoint.run({ _ in .answer(status: 403, body: Self.errorBody("AccessDenied")) }) {
            endpoint, url in
            let error = try await Self.withClient(endpoint: url) { client in
                await #expect(throws: S3Error.self) { _ = try await client.getObject(bucket: "b", key: "k") }
            }
            return (error, endpoint.received.count)
        }
        #expect(error?.status == 403 && error?.code == "AccessDenied" && error?.message == "scripted")
        #expect(received == 1)
    }

    @Test func aServerThatKeepsFailingIsGivenUpOnAfterTheLastAttempt() async throws {
        let (error, received) = try await ScriptedDynamoDBEndpoint.run({ _ in .answer(status: 503, body: Self.errorBody("SlowDown")) }) {
            endpoint, url in
            let error = try await Self.withClient(endpoint: url) { client in
                await #expect(throws: S3Error.self) { _ = try await client.headObject(bucket: "b", key: "k") }
            }
            return (error, endpoint.received.count)
        }
        #expect(error?.status == 503)
        #expect(received == S3Client.Configuration(region: "us-east-1").maxAttempts)
    }

    @Test(.enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
    func aMultipartUploadThatFailsIsAbortedAndLeavesNoParts() async throws {
        let mebibyte = 1024 * 1024
        try await S3TestBucket.with(multipartThreshold: Int64(5 * mebibyte), partSize: Int64(5 * mebibyte)) { bucket in
            // The file is shorter than the size given: the third part cannot be read.
            let file = try bucket.file(patternBytes(count: 12 * mebibyte))
            let error = await #expect(throws: S3Error.self) {
                try await bucket.client.putObject(
                    bucket: bucket.name, key: "broken", fileAt: file.path, size: Int64(16 * mebibyte), sha256: file.sha256, contentType: "x/y"
                )
            }
            #expect(error?.code == "FileUnreadable")
            #expect(try await bucket.client.headObject(bucket: bucket.name, key: "broken") == nil)
            let uploads = try await bucket.client.send(.GET, bucket: bucket.name, key: nil, query: [("uploads", "")])
            let listing = String(buffer: try await uploads.body.collect(upTo: 1024 * 1024))
            #expect(listing.contains("<ListMultipartUploadsResult"))
            #expect(!listing.contains("<UploadId>"), "the upload was aborted: \(listing)")
        }
    }
}

/// The hex SHA-256 of bytes, as the client computes it.
enum SHA256Hex {
    static func of(_ bytes: [UInt8]) -> String { S3Client.sha256Hex(bytes) }
}
