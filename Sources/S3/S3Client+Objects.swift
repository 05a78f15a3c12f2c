import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension S3Client {
    /// What S3 holds under `key`, or `nil` when there is no such object.
    /// - Throws: ``S3Error`` for any failure but a missing object.
    public func headObject(bucket: String, key: String) async throws -> S3ObjectHead? {
        let response = try await send(.HEAD, bucket: bucket, key: key, allowedStatuses: [404])
        if response.status.code == 404 { return nil }
        return try S3ObjectHead(response)
    }

    /// Opens an object for reading, whole or the bytes of `range` (offsets, both ends
    /// included: `Range: bytes=a-b`). The body is not read until
    /// ``S3ObjectContent/stream(_:)`` is called.
    /// - Throws: ``S3Error`` (``S3Error/isNotFound`` when there is no such object).
    public func getObject(bucket: String, key: String, range: ClosedRange<Int64>? = nil) async throws -> S3ObjectContent {
        var headers: [(name: String, value: String)] = []
        if let range { headers.append(("range", "bytes=\(range.lowerBound)-\(range.upperBound)")) }
        let response = try await send(.GET, bucket: bucket, key: key, headers: headers)
        let head = try S3ObjectHead(response)
        let contentLength = response.headers.first(name: "content-length").flatMap { Int64($0) } ?? head.size
        return S3ObjectContent(head: head, contentLength: contentLength, body: response.body)
    }

    /// Creates a bucket in the client's region (a plain `PUT` on the bucket); an existing
    /// bucket of ours is not an error.
    /// - Throws: ``S3Error`` when S3 refuses.
    public func createBucket(_ bucket: String) async throws {
        var body: S3RequestBody = .empty
        if configuration.region != "us-east-1" {
            let document = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>"
                + S3XML.escape(configuration.region) + "</LocationConstraint></CreateBucketConfiguration>"
            body = .bytes(Array(document.utf8))
        }
        do {
            _ = try await send(.PUT, bucket: bucket, key: nil, body: body)
        } catch let error as S3Error where error.code == "BucketAlreadyOwnedByYou" {
            return
        }
    }
}
