import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix

extension S3Client {
    /// Uploads the file at `path` as `key`, streamed from disk: one `PutObject` up to
    /// ``Configuration/multipartThreshold`` bytes, a multipart upload above it (aborted on any
    /// failure). Returns once S3 holds the whole object.
    /// - Parameters:
    ///   - size: The file's size in bytes.
    ///   - sha256: The file's hex SHA-256. A single `PutObject` is signed with it, and S3
    ///     refuses bytes that do not match; in a multipart upload each part is signed with
    ///     its own SHA-256, read from the file before the part is sent.
    ///   - contentType: The media type stored with the object.
    /// - Throws: ``S3Error`` when S3 refuses or cannot be reached after retries, or
    ///   `FileUnreadable` when the file cannot be read.
    public func putObject(bucket: String, key: String, fileAt path: String, size: Int64, sha256: String, contentType: String) async throws {
        let fileIO = NonBlockingFileIO(threadPool: .singleton)
        let opened: (NIOFileHandle) async throws -> Void = { handle in
            if size > self.configuration.multipartThreshold {
                try await self.putMultipart(bucket: bucket, key: key, handle: handle, size: size, contentType: contentType)
            } else {
                let response = try await self.send(
                    .PUT, bucket: bucket, key: key, headers: [("content-type", contentType)],
                    body: .file(FileSlice(handle: handle, offset: 0, length: size)), payloadHash: sha256
                )
                try await Self.drain(response)
            }
        }
        do {
            try await fileIO.withFileHandle(path: path, mode: .read, opened)
        } catch let error as S3Error {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw S3Error(status: 0, code: "FileUnreadable", message: "the file to upload could not be read: \(error)")
        }
    }

    /// Reads and drops a short answer's body, so its connection goes back to the pool.
    static func drain(_ response: HTTPClientResponse) async throws {
        _ = try await response.body.collect(upTo: 1024 * 1024)
    }
}
