import Blobs
import NIOCore
import S3

/// Archived attachment files in an S3 bucket, one object per blob under
/// `{prefix}sha256/{hex}` (`attachments/sha256/…` by default).
///
/// S3 makes an object readable only once all of its bytes are stored, so a crash during
/// ``put(_:from:)`` leaves no partial blob; and since keys are content-addressed, an object
/// already there with the blob's size holds the same bytes and is not uploaded again.
public struct S3BlobStore: BlobStore {
    /// The client; its owner shuts it down.
    public let client: S3Client
    /// The bucket.
    public let bucket: String
    /// What every object key starts with.
    public let prefix: String

    /// A store in `bucket`, over a client its owner keeps and shuts down.
    public init(client: S3Client, bucket: String, prefix: String = "attachments/") {
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
    }

    /// The object key of a blob.
    public func objectKey(_ key: BlobKey) -> String { prefix + key.description }

    /// Uploads the file as the blob's object, unless an object of the blob's size is already
    /// there. Returns once S3 holds all of it.
    /// - Throws: ``BlobStoreError/Kind/unavailable`` when S3 cannot be reached or refuses.
    public func put(_ blob: BlobDescription, from path: String) async throws {
        let objectKey = objectKey(blob.key)
        do {
            if let existing = try await client.headObject(bucket: bucket, key: objectKey), existing.size == blob.size { return }
            try await client.putObject(
                bucket: bucket, key: objectKey, fileAt: path, size: blob.size, sha256: blob.key.sha256, contentType: blob.contentType
            )
        } catch {
            throw Self.storeError(error, key: blob.key)
        }
    }

    /// Whether the blob's object exists (a `HEAD`).
    /// - Throws: ``BlobStoreError/Kind/unavailable`` when S3 cannot be reached.
    public func contains(_ key: BlobKey) async throws -> Bool {
        do {
            return try await client.headObject(bucket: bucket, key: objectKey(key)) != nil
        } catch {
            throw Self.storeError(error, key: key)
        }
    }

    /// Starts a `GET` of the blob's object (or `range` of it); its bytes stream to the
    /// consumer as they arrive.
    /// - Throws: ``BlobStoreError/notFound(_:)`` when there is no such object,
    ///   ``BlobStoreError/Kind/unavailable`` for any other failure.
    public func read(_ key: BlobKey, range: ClosedRange<Int64>?) async throws -> BlobRead {
        let content: S3ObjectContent
        do {
            content = try await client.getObject(bucket: bucket, key: objectKey(key), range: range)
        } catch {
            throw Self.storeError(error, key: key)
        }
        return BlobRead(size: content.head.size) { consume in
            do {
                try await content.stream(consume)
            } catch let error as S3Error {
                throw Self.storeError(error, key: key)
            }
        }
    }

    /// A missing object as ``BlobStoreError/notFound(_:)``; anything else S3 says as
    /// ``BlobStoreError/Kind/unavailable``. Errors a consumer throws pass through.
    static func storeError(_ error: any Error, key: BlobKey) -> any Error {
        switch error {
        case let error as S3Error where error.isNotFound: BlobStoreError.notFound(key)
        case let error as S3Error: BlobStoreError(.unavailable, reason: "S3 \(key): \(error)")
        default: error
        }
    }
}
