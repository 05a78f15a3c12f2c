import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// What an object's answer says of it.
public struct S3ObjectHead: Sendable, Hashable {
    /// The whole object's size in bytes (not only the requested range's).
    public var size: Int64
    /// Its entity tag, quotes included as S3 sends it.
    public var etag: String?
    /// Its media type, as stored with it.
    public var contentType: String?

    /// Describes an object.
    public init(size: Int64, etag: String?, contentType: String?) {
        self.size = size
        self.etag = etag
        self.contentType = contentType
    }

    /// Reads a HEAD or GET answer: the size from `Content-Range`'s total when the answer is
    /// partial, else from `Content-Length`.
    /// - Throws: ``S3Error`` `UnexpectedResponse` when neither gives a size.
    init(_ response: HTTPClientResponse) throws {
        let headers = response.headers
        var size: Int64?
        if let range = headers.first(name: "content-range"), let slash = range.lastIndex(of: "/") {
            size = Int64(range[range.index(after: slash)...].trimmingCharacters(in: .whitespaces))
        } else if let length = headers.first(name: "content-length") {
            size = Int64(length)
        }
        guard let size, size >= 0 else {
            throw S3Error(status: Int(response.status.code), code: "UnexpectedResponse", message: "the answer gives no object size")
        }
        self.init(size: size, etag: headers.first(name: "etag"), contentType: headers.first(name: "content-type"))
    }
}
