import AsyncHTTPClient
import NIOCore

/// An object being read: what its answer said of it, and its body, streamed.
public struct S3ObjectContent: Sendable {
    /// The object's size, entity tag and media type.
    public var head: S3ObjectHead
    /// How many bytes the body holds (the range's length for a ranged read).
    public var contentLength: Int64
    private let body: HTTPClientResponse.Body

    init(head: S3ObjectHead, contentLength: Int64, body: HTTPClientResponse.Body) {
        self.head = head
        self.contentLength = contentLength
        self.body = body
    }

    /// Hands the body to `consume` chunk by chunk as it arrives; the next chunk is read only
    /// once `consume` returns, so a slow consumer slows the download rather than filling
    /// memory. Call it at most once; an unread body is abandoned (its connection closed) when
    /// the value is dropped.
    public func stream(_ consume: (ByteBuffer) async throws -> Void) async throws {
        var received: Int64 = 0
        do {
            for try await chunk in body {
                received += Int64(chunk.readableBytes)
                try await consume(chunk)
            }
        } catch let error as S3Error {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw S3Error(status: 0, code: "ConnectionFailed", message: "the object's body broke off: \(error)")
        }
        guard received == contentLength else {
            throw S3Error(status: 0, code: "ConnectionFailed", message: "the object's body ended after \(received) of \(contentLength) bytes")
        }
    }
}
