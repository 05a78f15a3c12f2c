import HTTPTypes
import Hummingbird
import JSON
import NIOCore

/// Every error answer of the service: an HTTP status and a JSON body with a stable code.
///
/// The body is `{"error": code, "message": …, "request_id": …}`, plus `fields` for
/// validation failures. Messages are written for the client and never carry internals:
/// the cause of a 5xx goes to the log, not the response.
public struct WebhookError: Error, Sendable, HTTPResponseError {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// A stable, machine-readable code such as `validation_failed`.
    public var code: String
    /// What went wrong, for people.
    public var message: String
    /// The invalid fields, for validation failures.
    public var fields: [FieldError]?
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`).
    public var headers: HTTPFields

    /// Creates an error answer.
    public init(status: HTTPResponse.Status, code: String, message: String, fields: [FieldError]? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers
    }

    /// 401: credentials missing or wrong.
    public static let unauthorized = WebhookError(
        status: .unauthorized, code: "unauthorized", message: "Missing or invalid credentials.",
        headers: [.wwwAuthenticate: "Basic realm=\"qualia-webhook\", charset=\"UTF-8\""]
    )

    /// 403: the credentials are valid but may not do this (reader credentials delivering).
    public static let forbidden = WebhookError(
        status: .forbidden, code: "forbidden", message: "These credentials may read messages but not deliver them."
    )

    /// 429: this address failed to authenticate too often lately.
    public static func tooManyFailedAttempts(retryAfterSeconds: Int) -> WebhookError {
        WebhookError(
            status: .tooManyRequests, code: "too_many_failed_attempts",
            message: "Too many failed authentication attempts from this address. Try again later.",
            headers: [.retryAfter: String(retryAfterSeconds)]
        )
    }

    /// 400: the body is not JSON.
    public static let invalidJSON = WebhookError(
        status: .badRequest, code: "invalid_json", message: "The request body is not valid JSON."
    )

    /// 400: the request is JSON but some fields are wrong.
    public static func validationFailed(_ fields: [FieldError]) -> WebhookError {
        WebhookError(
            status: .badRequest, code: "validation_failed",
            message: fields.count == 1 ? "1 field is invalid." : "\(fields.count) fields are invalid.", fields: fields
        )
    }

    /// 413: the body is larger than the configured limit.
    public static func payloadTooLarge(limit: Int?) -> WebhookError {
        let message = limit.map { "The request body is larger than \($0) bytes." } ?? "The request body is too large."
        return WebhookError(status: .contentTooLarge, code: "payload_too_large", message: message)
    }

    /// 400: a page cursor that is malformed, or belongs to another listing, order or filter.
    public static let invalidCursor = WebhookError(
        status: .badRequest, code: "invalid_cursor",
        message: "The cursor is not one this listing gave out; start again without it."
    )

    /// 410: a change-feed cursor older than the feed keeps (`FEED_RETENTION_DAYS`): events after
    /// it may be gone, so resuming from it could miss some.
    public static let cursorExpired = WebhookError(
        status: .gone, code: "cursor_expired",
        message: "The cursor is older than the feed keeps; events after it may be gone. Start again without 'after', or with after=now."
    )

    /// 426: `/webhook/stream` asked for without a WebSocket upgrade.
    static let upgradeRequired = WebhookError(
        status: .upgradeRequired, code: "upgrade_required",
        message: "This endpoint is a WebSocket: send a GET with 'Connection: Upgrade' and 'Upgrade: websocket'.",
        headers: [.upgrade: "websocket"]
    )

    /// 404: no message with that order, type and id.
    public static let messageNotFound = WebhookError(status: .notFound, code: "not_found", message: "No such message.")

    /// 404: the message has no attachment with that id (or there is no such message).
    public static let attachmentNotFound = WebhookError(status: .notFound, code: "not_found", message: "No such attachment.")

    /// 416: a `Range` outside an archived file of `size` bytes.
    static func rangeNotSatisfiable(size: Int64) -> WebhookError {
        WebhookError(
            status: .rangeNotSatisfiable, code: "range_not_satisfiable",
            message: "The requested range lies outside the file, which is \(size) bytes long.", headers: [.contentRange: "bytes */\(size)"]
        )
    }

    /// 503: the attachment archive's blob store cannot be read right now.
    static let archiveUnavailable = WebhookError(
        status: .serviceUnavailable, code: "archive_unavailable", message: "The attachment archive is unavailable; try again later.",
        headers: [.retryAfter: "5"]
    )

    /// 404: no such route.
    public static let notFound = WebhookError(status: .notFound, code: "not_found", message: "No such endpoint.")

    /// 503: the store cannot be reached right now; Qualia retries.
    public static let storeUnavailable = WebhookError(
        status: .serviceUnavailable, code: "store_unavailable",
        message: "The message store is unavailable. Nothing was stored; try again later.",
        headers: [.retryAfter: "1"]
    )

    /// 500: anything unexpected; the cause is in the log.
    public static let internalError = WebhookError(
        status: .internalServerError, code: "internal_error",
        message: "The server could not complete the request. Nothing was stored unless a later request says so."
    )

    /// 400 for any other bad request that Hummingbird reports.
    public static let badRequest = WebhookError(status: .badRequest, code: "bad_request", message: "The request is malformed.")

    /// 400: the request is not valid HTTP/1.1 (its framing, headers or body encoding).
    static func malformedHTTP(_ reason: String) -> WebhookError {
        WebhookError(status: .badRequest, code: "bad_request", message: "The request is not valid HTTP/1.1: \(reason).")
    }

    /// 431: the request's head (request line and headers) is larger than the server reads.
    static let headersTooLarge = WebhookError(
        status: .requestHeaderFieldsTooLarge, code: "headers_too_large",
        message: "The request line and headers are larger than the server accepts (80 KiB)."
    )

    /// 405: the path exists, but not with this method; `Allow` lists the methods it takes.
    static func methodNotAllowed(allowed: [HTTPRequest.Method]) -> WebhookError {
        WebhookError(
            status: .methodNotAllowed, code: "method_not_allowed",
            message: "This endpoint takes \(allowed.map(\.rawValue).joined(separator: ", ")) only.",
            headers: [.allow: allowed.map(\.rawValue).joined(separator: ", ")]
        )
    }

    /// 417: the request's `Expect` header asks for something other than `100-continue`.
    static let expectationFailed = WebhookError(
        status: .expectationFailed, code: "expectation_failed", message: "The only expectation this server meets is Expect: 100-continue."
    )

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        ErrorBody(error: self, requestID: context.id).jsonResponse(status: status, headers: headers)
    }

    /// The error's JSON body, for answers written below the router (see ``HTTPConnectionGuard``).
    func jsonBody(requestID: String) -> ByteBuffer {
        ErrorBody(error: self, requestID: requestID).jsonBody
    }
}

/// `{"error": code, "message": …, "request_id": …, "fields": [{"field", "message"}]}`.
private struct ErrorBody: JSONWritable {
    var error: WebhookError
    var requestID: String

    func write(to writer: inout JSONWriter) {
        writer.object { body in
            body.field("error", error.code)
            body.field("message", error.message)
            body.field("request_id", requestID)
            if let fields = error.fields {
                body.key("fields")
                body.array(fields) { list, field in
                    list.object { object in
                        object.field("field", field.field)
                        object.field("message", field.message)
                    }
                }
            }
        }
    }
}
