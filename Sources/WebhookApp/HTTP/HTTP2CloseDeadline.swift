import NIOCore
import NIOHTTP2

/// Closes an HTTP/2 connection a fixed time after the server first sends it a GOAWAY.
///
/// Hummingbird closes an idle HTTP/2 connection, or one being drained for a shutdown, in two
/// steps: a GOAWAY with a PING, then, once the client acknowledges the PING, a final GOAWAY and
/// a grace period for open streams. A client that never acknowledges (stuck, or hostile) would
/// keep the connection for ever, since nothing bounds the first step. This handler sits between
/// the HTTP/2 codec and Hummingbird's connection manager, sees the first GOAWAY go out, and
/// closes the connection `timeout` later whatever the client does.
final class HTTP2CloseDeadline: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let timeout: TimeAmount
    private var close: Scheduled<Void>?

    /// - Parameter timeout: How long a connection may stay open after its first GOAWAY.
    init(timeout: Duration) {
        self.timeout = TimeAmount(timeout)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if close == nil, case .goAway = unwrapOutboundIn(data).payload {
            let channel = context.channel
            close = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        }
        context.write(data, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        close?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        close?.cancel()
        context.fireChannelInactive()
    }
}

extension HTTP2CloseDeadline {
    /// Adds a deadline of `timeout` to `channel`, whose HTTP/2 pipeline is already configured,
    /// just after its codec.
    static func add(to channel: any Channel, timeout: Duration) throws {
        let codec = try channel.pipeline.syncOperations.handler(type: NIOHTTP2Handler.self)
        try channel.pipeline.syncOperations.addHandler(HTTP2CloseDeadline(timeout: timeout), position: .after(codec))
    }
}
