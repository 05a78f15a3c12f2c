import AWSSigning
import Crypto
import Foundation
import Logging
import NIOCore
import S3
import StoreTestSupport

/// A fresh bucket on the S3 suites' moto, with a client for it and a temporary folder for
/// the files a test uploads, for the duration of ``with(multipartThreshold:partSize:_:)``.
struct S3TestBucket {
    let client: S3Client
    let name: String
    let folder: TemporaryDirectory

    /// Runs `body` with a client for the suites' moto (test credentials) and a bucket of a
    /// unique name, then shuts the client down and removes the folder, whether `body` threw
    /// or not (a client dropped unshut would crash the test process).
    /// - Parameters:
    ///   - multipartThreshold: Files larger than this go up in parts.
    ///   - partSize: Their part size.
    static func with(
        multipartThreshold: Int64 = 16 * 1024 * 1024, partSize: Int64 = 8 * 1024 * 1024, _ body: (S3TestBucket) async throws -> Void
    ) async throws {
        let bucket = try await make(multipartThreshold: multipartThreshold, partSize: partSize)
        do {
            try await body(bucket)
        } catch {
            try? await bucket.finish()
            throw error
        }
        try await bucket.finish()
    }

    private static func make(multipartThreshold: Int64, partSize: Int64) async throws -> S3TestBucket {
        guard let endpoint = MotoServer.s3Endpoint else {
            throw S3Error(status: 0, code: "NoTestServer", message: MotoServer.skipReason)
        }
        let client = try S3Client(
            configuration: .init(region: "us-east-1", endpoint: endpoint, multipartThreshold: multipartThreshold, partSize: partSize),
            credentialProvider: StaticCredentialProvider(AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing")),
            logger: Logger(label: "test")
        )
        let name = "qualia-test-\(UUID().uuidString.prefix(8).lowercased())"
        do {
            try await client.createBucket(name)
            return S3TestBucket(client: client, name: name, folder: try TemporaryDirectory())
        } catch {
            try await client.shutdown()
            throw error
        }
    }

    /// Shuts the client down and removes the folder.
    private func finish() async throws {
        folder.remove()
        try await client.shutdown()
    }

    /// Writes `bytes` to a file in the folder and returns its path, size and hex SHA-256.
    func file(_ bytes: [UInt8], named name: String = UUID().uuidString) throws -> (path: String, size: Int64, sha256: String) {
        let path = folder.path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, Int64(bytes.count), SHA256.hex(bytes))
    }

    /// Uploads `bytes` as `key`.
    func put(_ bytes: [UInt8], as key: String, contentType: String = "application/octet-stream") async throws {
        let file = try file(bytes)
        try await client.putObject(bucket: name, key: key, fileAt: file.path, size: file.size, sha256: file.sha256, contentType: contentType)
    }

    /// The object under `key` (or its `range`), read whole into memory, with what S3 said of it.
    func get(_ key: String, range: ClosedRange<Int64>? = nil) async throws -> (head: S3ObjectHead, bytes: [UInt8]) {
        let content = try await client.getObject(bucket: name, key: key, range: range)
        var bytes: [UInt8] = []
        try await content.stream { bytes += Array(buffer: $0) }
        return (content.head, bytes)
    }
}

extension SHA256 {
    /// The hex SHA-256 of `bytes`.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        hash(data: Array(bytes)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Bytes that differ at every offset in a way a shifted or truncated copy would not match
/// (xorshift64, eight bytes a step, so megabytes are cheap in a debug build).
func patternBytes(count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        var offset = 0
        while offset < count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            var word = state.littleEndian
            let length = min(8, count - offset)
            withUnsafeBytes(of: &word) { bytes in
                for index in 0..<length { buffer[offset + index] = bytes[index] }
            }
            offset += length
        }
        initialized = count
    }
}
