import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Sits on every connection, after the HTTP/1.1 decoder, and keeps a client's malformed HTTP
/// from becoming anything but a clear 4xx for that client.
///
/// - A request that is malformed before the router has it (a bad request line or header,
///   `Content-Length` with `Transfer-Encoding`, two `Content-Length`s, a head over 80 KiB)
///   gets a JSON error body with an `X-Request-ID`, as every other answer, and the
///   connection closes: after a framing error nothing on it can be trusted.
/// - A request whose body breaks off or is malformed while a route reads it (a client that
///   closes mid-body, a bad chunk) lets the route see the error, so it answers 400 and
///   stores nothing; if the route has already answered, the connection just closes.
/// - A response that says `Connection: close` (a request refused before its body was read,
///   say) closes the connection once written.
///
/// None of these is the server's fault, so they are logged at `notice`, never `error`.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let logger: Logger
    /// A request head was read and its end not yet.
    private var isReadingRequest = false
    /// Requests read whose final response has not been completely written.
    private var unansweredRequests = 0
    /// The final response being written says `Connection: close`.
    private var closesAfterResponse = false
    /// A framing error ended the connection; nothing more is read or answered.
    private var isClosing = false
    /// A framing error came while an answer was being prepared: close once it is written.
    private var closesWhenAnswered = false

    init(logger: Logger) {
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosing else { return }
        switch unwrapInboundIn(data) {
        case .head:
            isReadingRequest = true
            unansweredRequests += 1
        case .body:
            break
        case .end:
            isReadingRequest = false
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.kind != .informational:
            closesAfterResponse = head.headerFields[.connection]?.lowercased() == "close"
            context.write(data, promise: promise)
        case .end:
            unansweredRequests = max(0, unansweredRequests - 1)
            guard closesAfterResponse || (closesWhenAnswered && unansweredRequests == 0) else {
                return context.write(data, promise: promise)
            }
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            context.writeAndFlush(data, promise: written)
        default:
            context.write(data, promise: promise)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else { return context.fireErrorCaught(error) }
        if isReadingRequest && unansweredRequests > 0 {
            // A route is reading this body: it must fail, so that nothing half-read is stored.
            return context.fireErrorCaught(error)
        }
        guard !isClosing else { return }
        isClosing = true
        if parserError == .invalidEOFState || !context.channel.isActive {
            // The client went away between requests: no one to answer.
            logger.debug("Connection closed mid-request by the client", metadata: ["reason": .string(Self.reason(for: parserError))])
            context.close(promise: nil)
        } else if parserError == .closedConnection {
            // Bytes after a request that said `Connection: close`: nothing on this connection is
            // processed after that request's answer (RFC 9112, section 9.6), so they are not
            // answered either, and the connection closes once that answer is written.
            logger.debug("Bytes after a Connection: close request ignored")
            if unansweredRequests > 0 { closesWhenAnswered = true } else { context.close(promise: nil) }
        } else if unansweredRequests > 0 {
            // The bytes after a complete request are bad: answer that request, then close.
            logger.notice("Malformed HTTP after a request; closing once it is answered", metadata: ["reason": .string(Self.reason(for: parserError))])
            closesWhenAnswered = true
        } else if isReadingRequest {
            // A route answered without reading the whole body, whose framing then broke.
            logger.notice("Malformed request body after the answer; closing", metadata: ["reason": .string(Self.reason(for: parserError))])
            context.close(promise: nil)
        } else {
            answer(parserError, context: context)
        }
    }

    /// The answer to a request the router never saw: its status, headers and JSON body.
    struct Refusal {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: ByteBuffer

        /// The refusal of a request that `parserError` broke, logged once.
        init(_ parserError: HTTPParserError, logger: Logger) {
            let error = parserError == .headerOverflow ? WebhookError.headersTooLarge : .malformedHTTP(HTTPConnectionGuard.reason(for: parserError))
            let requestID = RequestIDMiddleware<WebhookRequestContext>.newRequestID()
            body = error.jsonBody(requestID: requestID)
            headers = error.headers
            headers[.contentType] = "application/json; charset=utf-8"
            headers[.contentLength] = String(body.readableBytes)
            headers[.requestID] = requestID
            headers[.connection] = "close"
            status = error.status
            logger.notice(
                "Malformed HTTP request refused",
                metadata: ["request_id": .string(requestID), "status": .stringConvertible(error.status.code), "reason": .string(error.message)]
            )
        }
    }

    /// Writes the JSON error for a request the router never saw, then closes.
    private func answer(_ parserError: HTTPParserError, context: ChannelHandlerContext) {
        let refusal = Refusal(parserError, logger: logger)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: refusal.status, headerFields: refusal.headers))), promise: nil)
        context.write(wrapOutboundOut(.body(refusal.body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    /// What the client did wrong, in words for the client.
    static func reason(for error: HTTPParserError) -> String {
        switch error {
        case .invalidContentLength, .unexpectedContentLength:
            "its Content-Length is invalid, repeated, or sent together with Transfer-Encoding"
        case .invalidChunkSize:
            "its chunked body is malformed"
        case .invalidEOFState, .closedConnection:
            "the connection closed before the request was complete"
        case .headerOverflow:
            "its request line and headers are too large"
        case .invalidMethod:
            "its method is not a valid token"
        case .invalidURL, .invalidPath, .invalidQueryString, .invalidFragment, .invalidHost, .invalidPort:
            "its request target is not a valid URL"
        case .invalidVersion:
            "its HTTP version is not supported"
        case .invalidHeaderToken:
            "a header name or value has invalid characters"
        case .lfExpected, .invalidCharactersUsed, .invalidConstant:
            "its request line or headers are malformed"
        default:
            // llhttp reports an unknown or misplaced Transfer-Encoding this way.
            "its framing is invalid (such as a Transfer-Encoding other than chunked, or Content-Length with Transfer-Encoding)"
        }
    }
}
