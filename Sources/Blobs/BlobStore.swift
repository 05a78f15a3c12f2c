import NIOCore

/// Where archived attachment files are kept: the seam between the archiver and a storage
/// technology (a local folder, Amazon S3).
///
/// Blobs are content-addressed (see ``BlobKey``), so storing the same bytes twice, from two
/// instances or after a crash, writes one blob. Every conforming store must:
/// - make a blob readable under its key only once all of its bytes are durable, so that a
///   crash at any moment leaves either the whole blob or none that can be read;
/// - accept a second ``put(_:from:)`` of a key it holds, as a no-op or an overwrite with the
///   same bytes;
/// - read a byte range without reading the rest of the blob, and stream it in chunks, so a
///   100 MB file never sits in memory.
public protocol BlobStore: Sendable {
    /// Stores the file at `path` (its size and SHA-256 already known) under `blob.key`, and
    /// returns only once the blob is durable.
    /// - Throws: ``BlobStoreError`` when it could not be stored.
    func put(_ blob: BlobDescription, from path: String) async throws

    /// Whether a blob is stored under `key`.
    func contains(_ key: BlobKey) async throws -> Bool

    /// Opens the blob for reading, whole or a range of it (`range` in byte offsets, both
    /// ends included, already checked to lie within the blob).
    /// - Throws: ``BlobStoreError/notFound`` when there is no such blob.
    func read(_ key: BlobKey, range: ClosedRange<Int64>?) async throws -> BlobRead
}

/// A blob's name: `sha256/{64 lowercase hex digits}`, the SHA-256 of its bytes.
public struct BlobKey: Sendable, Hashable, CustomStringConvertible {
    /// The SHA-256 of the blob's bytes, as 64 lowercase hex digits.
    public let sha256: String

    /// The key of the bytes whose SHA-256 is `sha256`, or `nil` when it is not 64 lowercase
    /// hex digits (a key never holds anything that could climb out of a folder).
    public init?(sha256: String) {
        guard sha256.utf8.count == 64, sha256.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        self.sha256 = sha256
    }

    /// `sha256/{hex}`: the key as an object name.
    public var description: String { "sha256/" + sha256 }
}

/// A blob to store: its key and what is known of its bytes.
public struct BlobDescription: Sendable, Hashable {
    /// Its key (from its SHA-256).
    public var key: BlobKey
    /// Its size in bytes.
    public var size: Int64
    /// Its media type, as the source served it (`application/pdf`).
    public var contentType: String

    /// Describes a blob.
    public init(key: BlobKey, size: Int64, contentType: String) {
        self.key = key
        self.size = size
        self.contentType = contentType
    }
}

/// A blob opened for reading: its whole size, and its bytes (or a range of them) as a stream.
public struct BlobRead: Sendable {
    /// The blob's whole size in bytes.
    public var size: Int64
    /// Writes the requested bytes, chunk by chunk, to `consume`, which may apply
    /// back-pressure by suspending; returns once the last chunk was consumed.
    public var stream: @Sendable (_ consume: (ByteBuffer) async throws -> Void) async throws -> Void

    /// Creates a read.
    public init(size: Int64, stream: @escaping @Sendable (_ consume: (ByteBuffer) async throws -> Void) async throws -> Void) {
        self.size = size
        self.stream = stream
    }
}

/// Why a blob store operation failed. The reason is for logs only: it never reaches a client.
public struct BlobStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Broad classes of failure.
    public enum Kind: Sendable, Hashable {
        /// There is no blob under the key.
        case notFound
        /// The store cannot be reached or failed; retrying later may succeed.
        case unavailable
    }

    /// The class of failure.
    public var kind: Kind
    /// What went wrong, for operators' logs.
    public var reason: String

    /// Creates an error.
    public init(_ kind: Kind, reason: String) {
        self.kind = kind
        self.reason = reason
    }

    /// There is no blob under the key.
    public static func notFound(_ key: BlobKey) -> Self { .init(.notFound, reason: "no blob \(key)") }

    public var description: String { "\(kind): \(reason)" }
}
