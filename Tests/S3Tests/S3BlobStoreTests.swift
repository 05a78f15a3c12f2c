import Blobs
import Crypto
import Foundation
import NIOCore
import S3
import S3BlobStore
import StoreTestSupport
import Testing

/// `S3BlobStore` against moto's S3: the blob store contract, and where its objects go.
// Serialized, like S3ClientTests, so the S3 suites do not load the machine all at once.
@Suite(.serialized, .enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
struct S3BlobStoreTests {
    /// A blob of `bytes`, written to a file of the bucket's folder.
    static func blob(_ bytes: [UInt8], in bucket: S3TestBucket, contentType: String = "application/pdf") throws -> (BlobDescription, path: String) {
        let file = try bucket.file(bytes)
        let key = try #require(BlobKey(sha256: file.sha256))
        return (BlobDescription(key: key, size: file.size, contentType: contentType), file.path)
    }

    /// Everything `read` streams, in one array.
    static func collect(_ read: BlobRead) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        try await read.stream { bytes += Array(buffer: $0) }
        return bytes
    }

    @Test func aStoredBlobIsContainedAndReadsBackWholeAndByRange() async throws {
        try await S3TestBucket.with { bucket in
            let store = S3BlobStore(client: bucket.client, bucket: bucket.name)
            let bytes = patternBytes(count: 70_000)
            let (blob, path) = try Self.blob(bytes, in: bucket)
            #expect(try await store.contains(blob.key) == false)
            try await store.put(blob, from: path)
            #expect(try await store.contains(blob.key))

            let whole = try await store.read(blob.key, range: nil)
            #expect(whole.size == 70_000)
            #expect(try await Self.collect(whole) == bytes)
            let range = try await store.read(blob.key, range: 1000...1009)
            #expect(range.size == 70_000, "the blob's whole size")
            #expect(try await Self.collect(range) == Array(bytes[1000...1009]))
        }
    }

    @Test func theObjectIsNamedByTheKeyUnderAttachmentsWithItsContentType() async throws {
        try await S3TestBucket.with { bucket in
            let store = S3BlobStore(client: bucket.client, bucket: bucket.name)
            let (blob, path) = try Self.blob(Array("%PDF-1.7".utf8), in: bucket)
            try await store.put(blob, from: path)
            let head = try #require(try await bucket.client.headObject(bucket: bucket.name, key: "attachments/sha256/\(blob.key.sha256)"))
            #expect(head.size == blob.size)
            #expect(head.contentType == "application/pdf")
        }
    }

    @Test func puttingABlobTwiceIsFineAndKeepsTheStoredBytes() async throws {
        try await S3TestBucket.with { bucket in
            let store = S3BlobStore(client: bucket.client, bucket: bucket.name)
            let bytes = patternBytes(count: 4096)
            let (blob, path) = try Self.blob(bytes, in: bucket)
            try await store.put(blob, from: path)
            try await store.put(blob, from: path)
            // Same key, same size: the object is taken to hold these bytes and is not sent again.
            let other = try bucket.file(patternBytes(count: 4096, seed: 7))
            try await store.put(blob, from: other.path)
            #expect(try await Self.collect(try await store.read(blob.key, range: nil)) == bytes)
        }
    }

    @Test func readingAMissingBlobIsNotFound() async throws {
        try await S3TestBucket.with { bucket in
            let store = S3BlobStore(client: bucket.client, bucket: bucket.name)
            let key = try #require(BlobKey(sha256: SHA256.hex([0])))
            let error = await #expect(throws: BlobStoreError.self) { _ = try await store.read(key, range: nil) }
            #expect(error?.kind == .notFound)
        }
    }

    @Test func aMissingBucketIsUnavailableNotNotFound() async throws {
        try await S3TestBucket.with { bucket in
            let store = S3BlobStore(client: bucket.client, bucket: bucket.name + "-missing")
            let (blob, path) = try Self.blob([1, 2, 3], in: bucket)
            let readError = await #expect(throws: BlobStoreError.self) { _ = try await store.read(blob.key, range: nil) }
            #expect(readError?.kind == .unavailable)
            let putError = await #expect(throws: BlobStoreError.self) { try await store.put(blob, from: path) }
            #expect(putError?.kind == .unavailable)
        }
    }
}
