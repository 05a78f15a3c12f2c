import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Takes the connection-specific fields out of every response on an HTTP/2 stream.
///
/// Routes and guards written for HTTP/1.1 say `Connection: close` when a connection must not
/// be reused (a request refused before its body, an expectation not met). HTTP/2 forbids those
/// fields (RFC 9113, section 8.2.2) and NIOHTTP2 resets a stream whose response carries one, so
/// the client would get a broken stream instead of the answer. Over HTTP/2 the stream ends
/// with its response anyway, so nothing is lost by dropping them.
final class HTTP2ConnectionFieldFilter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The fields HTTP/2 forbids in a response.
    static let connectionSpecific: [HTTPField.Name] = [
        .connection, .transferEncoding, .upgrade, HTTPField.Name("Keep-Alive")!, HTTPField.Name("Proxy-Connection")!,
    ]

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(var head) = unwrapOutboundIn(data), head.headerFields.contains(where: { Self.connectionSpecific.contains($0.name) })
        else { return context.write(data, promise: promise) }
        for name in Self.connectionSpecific { head.headerFields[name] = nil }
        context.write(wrapOutboundOut(.head(head)), promise: promise)
    }
}
