import Crypto
import Foundation
import Logging
import NIOCore
import S3
import StoreTestSupport
import Testing

/// The S3 client against moto's S3: what is put is what is read, whole, in parts and by range.
// Serialized: its megabyte uploads, all at once, slowed the timing-sensitive suites that run beside it.
@Suite(.serialized, .enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
struct S3ClientTests {
    @Test func aSmallObjectIsReadBackWholeAndByteEqual() async throws {
        try await S3TestBucket.with { bucket in
            let bytes = patternBytes(count: 300_001)
            try await bucket.put(bytes, as: "attachments/small.bin", contentType: "application/pdf")
            let read = try await bucket.get("attachments/small.bin")
            #expect(read.bytes == bytes)
            #expect(read.head.size == 300_001)
            #expect(read.head.contentType == "application/pdf")
            #expect(read.head.etag?.isEmpty == false)
        }
    }

    @Test func anEmptyObjectRoundTrips() async throws {
        try await S3TestBucket.with { bucket in
            try await bucket.put([], as: "empty")
            let read = try await bucket.get("empty")
            #expect(read.bytes.isEmpty && read.head.size == 0)
        }
    }

    @Test func aFileAboveTheThresholdGoesUpInPartsAndReadsBackIdentical() async throws {
        let mebibyte = 1024 * 1024
        try await S3TestBucket.with(multipartThreshold: Int64(5 * mebibyte), partSize: Int64(5 * mebibyte)) { bucket in
            let bytes = patternBytes(count: 12 * mebibyte + 17)
            try await bucket.put(bytes, as: "big/file.bin")
            let head = try #require(try await bucket.client.headObject(bucket: bucket.name, key: "big/file.bin"))
            #expect(head.size == Int64(bytes.count))
            // A multipart object's ETag is `"{md5 of the parts' md5s}-{part count}"`: three parts.
            #expect(head.etag?.hasSuffix("-3\"") == true, "\(head.etag ?? "no etag")")
            let read = try await bucket.get("big/file.bin")
            #expect(read.bytes.count == bytes.count)
            #expect(SHA256.hex(read.bytes) == SHA256.hex(bytes))
        }
    }

    @Test func rangesReadExactlyTheirBytes() async throws {
        try await S3TestBucket.with { bucket in
            let bytes = patternBytes(count: 100_000)
            try await bucket.put(bytes, as: "ranged")
            for range: ClosedRange<Int64> in [0...0, 40_000...59_999, 99_999...99_999] {
                let read = try await bucket.get("ranged", range: range)
                #expect(read.bytes == Array(bytes[Int(range.lowerBound)...Int(range.upperBound)]), "\(range)")
                #expect(read.head.size == 100_000, "the whole object's size, not the range's")
            }
        }
    }

    @Test func theBodyIsDeliveredInChunksAsTheConsumerAsks() async throws {
        try await S3TestBucket.with { bucket in
            let bytes = patternBytes(count: 3 * 1024 * 1024)
            try await bucket.put(bytes, as: "chunked")
            let content = try await bucket.client.getObject(bucket: bucket.name, key: "chunked")
            #expect(content.contentLength == Int64(bytes.count))
            var chunks = 0
            var hasher = SHA256()
            try await content.stream { chunk in
                chunks += 1
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                try await Task.sleep(for: .milliseconds(1))  // a slow consumer
            }
            #expect(chunks > 1)
            #expect(hasher.finalize().map { String(format: "%02x", $0) }.joined() == SHA256.hex(bytes))
        }
    }

    @Test func headOfAMissingObjectIsNil() async throws {
        try await S3TestBucket.with { bucket in
            let head = try await bucket.client.headObject(bucket: bucket.name, key: "missing")
            #expect(head == nil)
        }
    }

    @Test func gettingAMissingObjectIsNotFound() async throws {
        try await S3TestBucket.with { bucket in
            let error = await #expect(throws: S3Error.self) { try await bucket.get("missing") }
            #expect(error?.isNotFound == true)
            #expect(error?.code == "NoSuchKey")
            #expect(error?.status == 404)
        }
    }

    @Test func aMissingBucketIsAnS3ErrorWithItsCode() async throws {
        try await S3TestBucket.with { bucket in
            let error = await #expect(throws: S3Error.self) {
                _ = try await bucket.client.getObject(bucket: bucket.name + "-missing", key: "anything")
            }
            #expect(error?.code == "NoSuchBucket")
            #expect(error?.isNotFound == false, "a missing bucket is not a missing object")
            #expect(error?.description.contains("testing") == false, "no credentials in errors")
            let putError = await #expect(throws: S3Error.self) { try await bucket.client.createBucket("ab") }
            #expect(putError?.code == "InvalidBucketName" && putError?.status == 400)
        }
    }

    @Test(arguments: ["with space/and+plus=equals", "unicode/ünï©ødé-日本", "tilde~and.dots_-", "a%percent&amp?query#hash", "trailing "])
    func keysThatNeedEncodingRoundTrip(_ key: String) async throws {
        try await S3TestBucket.with { bucket in
            let bytes = Array("contents of \(key)".utf8)
            try await bucket.put(bytes, as: key)
            #expect(try await bucket.get(key).bytes == bytes)
            #expect(try await bucket.client.headObject(bucket: bucket.name, key: key)?.size == Int64(bytes.count))
            // The key is taken literally: a neighbour spelled with the escape is another object.
            #expect(try await bucket.client.headObject(bucket: bucket.name, key: key.replacingOccurrences(of: " ", with: "%20") + "x") == nil)
        }
    }
}

/// A client built from the environment, as the service builds one.
@Suite(.enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
struct S3ClientEnvironmentTests {
    @Test func theEndpointAndCredentialsComeFromTheSDKsVariables() async throws {
        let endpoint = try #require(MotoServer.s3Endpoint)
        let environment = ["AWS_ENDPOINT_URL_S3": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "HOME": "/nonexistent"]
        let client = try S3Client(region: "us-east-1", environment: environment, logger: Logger(label: "test"))
        do {
            let bucket = "qualia-test-\(UUID().uuidString.prefix(8).lowercased())"
            try await client.createBucket(bucket)
            let head = try await client.headObject(bucket: bucket, key: "nothing")
            #expect(head == nil)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
