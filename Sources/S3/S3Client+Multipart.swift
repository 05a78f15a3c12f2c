import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1

extension S3Client {
    /// A multipart upload of the open file: `CreateMultipartUpload`, one `UploadPart` per
    /// ``Configuration/partSize`` bytes (each signed with its own SHA-256, read from the file
    /// first, so at most one chunk of it is in memory), then `CompleteMultipartUpload`. Any
    /// failure aborts the upload, so S3 keeps no parts behind.
    func putMultipart(bucket: String, key: String, handle: NIOFileHandle, size: Int64, contentType: String) async throws {
        let uploadID = try await createMultipartUpload(bucket: bucket, key: key, contentType: contentType)
        do {
            var parts: [(number: Int, etag: String)] = []
            let partSize = configuration.effectivePartSize
            var offset: Int64 = 0
            while offset < size {
                let slice = FileSlice(handle: handle, offset: offset, length: min(partSize, size - offset))
                let number = parts.count + 1
                let response = try await send(
                    .PUT, bucket: bucket, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)], body: .file(slice),
                    payloadHash: try await slice.sha256Hex()
                )
                guard let etag = response.headers.first(name: "etag") else {
                    throw S3Error(status: Int(response.status.code), code: "UnexpectedResponse", message: "UploadPart answered no ETag")
                }
                try await Self.drain(response)
                parts.append((number, etag))
                offset += slice.length
            }
            try await completeMultipartUpload(bucket: bucket, key: key, uploadID: uploadID, parts: parts)
        } catch {
            // Not cancelled with the caller: the parts would otherwise be kept (and billed).
            let abort = Task { try await self.abortMultipartUpload(bucket: bucket, key: key, uploadID: uploadID) }
            do {
                try await abort.value
            } catch {
                logger.warning(
                    "S3 multipart upload could not be aborted",
                    metadata: ["s3_bucket": .string(bucket), "s3_key": .string(key), "error": .string("\(error)")]
                )
            }
            throw error
        }
    }

    /// Starts a multipart upload and returns its `UploadId`.
    func createMultipartUpload(bucket: String, key: String, contentType: String) async throws -> String {
        let response = try await send(.POST, bucket: bucket, key: key, query: [("uploads", "")], headers: [("content-type", contentType)])
        let body = try await response.body.collect(upTo: 64 * 1024)
        guard let uploadID = S3XML.values(["UploadId"], inRoot: "InitiateMultipartUploadResult", of: Array(buffer: body))?["UploadId"],
            !uploadID.isEmpty
        else {
            throw S3Error(status: Int(response.status.code), code: "UnexpectedResponse", message: "CreateMultipartUpload answered no UploadId")
        }
        return uploadID
    }

    /// Joins the uploaded parts into the object.
    /// - Throws: ``S3Error`` also for an `Error` document in a 200 answer, which is how S3
    ///   reports a completion that failed after it began answering.
    func completeMultipartUpload(bucket: String, key: String, uploadID: String, parts: [(number: Int, etag: String)]) async throws {
        var document = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            document += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(S3XML.escape(part.etag))</ETag></Part>"
        }
        document += "</CompleteMultipartUpload>"
        let response = try await send(
            .POST, bucket: bucket, key: key, query: [("uploadId", uploadID)], headers: [("content-type", "application/xml")],
            body: .bytes(Array(document.utf8))
        )
        let body = Array(buffer: try await response.body.collect(upTo: 1024 * 1024))
        if let error = S3XML.values(["Code", "Message"], inRoot: "Error", of: body) {
            throw S3Error(status: Int(response.status.code), code: error["Code"] ?? "InternalError", message: error["Message"] ?? "")
        }
    }

    /// Drops an unfinished upload and its parts.
    func abortMultipartUpload(bucket: String, key: String, uploadID: String) async throws {
        let response = try await send(.DELETE, bucket: bucket, key: key, query: [("uploadId", uploadID)])
        try await Self.drain(response)
    }
}

extension FileSlice {
    /// The hex SHA-256 of the slice's bytes, read chunk by chunk.
    func sha256Hex() async throws -> String {
        var hasher = SHA256()
        for try await chunk in chunks {
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
