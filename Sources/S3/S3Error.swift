/// A failed S3 request: the HTTP status and S3's own error `Code` and `Message`, or a
/// connection failure (status 0).
///
/// Never carries a credential, a signature or a request's headers.
public struct S3Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status; 0 when no answer came (connection failure, bad endpoint).
    public var status: Int
    /// S3's error code (`NoSuchKey`, `NoSuchBucket`, `SlowDown`, …), or one of ours
    /// (`ConnectionFailed`, `InvalidEndpoint`, `UnexpectedResponse`, `FileUnreadable`).
    public var code: String
    /// S3's explanation, or ours.
    public var message: String

    /// Creates an error.
    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// Whether the object does not exist: S3's `NoSuchKey`, or a 404 without a body (HEAD's).
    /// A missing bucket (`NoSuchBucket`, also 404) is not this: it is a configuration error.
    public var isNotFound: Bool { code == "NoSuchKey" || code == Self.notFoundCode }

    /// The code of a 404 answer that carried no error document (HEAD's).
    public static let notFoundCode = "NotFound"

    /// Whether trying again later may succeed: 5xx (`SlowDown` included), or no answer.
    public var isRetryable: Bool { status == 0 ? code == "ConnectionFailed" : status >= 500 || code == "SlowDown" }

    /// `S3 {status} {code}: {message}`, for logs.
    public var description: String { "S3 \(status) \(code): \(message)" }
}
