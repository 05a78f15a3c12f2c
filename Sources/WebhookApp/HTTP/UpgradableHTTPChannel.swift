import HTTPTypes
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// The server's connections: HTTP/1.1 that may upgrade to a WebSocket (`/webhook/stream`),
/// with the same protection before the first request as every later one has.
///
/// Hummingbird's upgradable channel installs its HTTP handlers (``HTTPConnectionGuard``, the
/// idle timeout) only once the first request head shows it is not an upgrade. Until then a
/// client that sends nothing, half a head, or a malformed one would hold the connection or get
/// no answer; ``FirstRequestGuard`` closes the first and answers the others as
/// ``HTTPConnectionGuard`` does. It also turns an upgrade request that may not become a stream
/// into a plain request, which the service's router answers with its usual errors (the
/// upgradable channel would answer a declined upgrade with a bare 400).
struct UpgradableHTTPChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let inner: HTTP1WebSocketUpgradeChannel
    /// How long a connection may stay silent before its first request head is complete.
    let idleTimeout: Duration
    /// Whether an upgrade request (its head, and the peer's address) may become a stream.
    let admitsUpgrade: @Sendable (HTTPRequestHead, String?) -> Bool
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let timeout = TimeAmount.nanoseconds(Int64(idleTimeout.components.seconds) * 1_000_000_000 + idleTimeout.components.attoseconds / 1_000_000_000)
        do {
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: timeout), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { [self] value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let guardHandler = FirstRequestGuard(
                admitsUpgrade: admitsUpgrade, remoteAddress: channel.remoteAddress?.ipAddress, logger: self.logger
            )
            try channel.pipeline.syncOperations.addHandler(guardHandler, position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        // A connection that ``FirstRequestGuard`` closed before its first request never
        // negotiated; Hummingbird logs that as an error, which it is not.
        var quiet = logger
        quiet.handler = UnnegotiatedConnectionLogFilter(wrapped: logger.handler)
        await inner.handle(value: value, logger: quiet)
    }
}

/// Guards a connection until its first request head is complete: closes it when it stays
/// silent for the idle timeout, and answers a malformed head with the JSON error that
/// ``HTTPConnectionGuard`` gives later requests. From the first head on it lets everything
/// through, and the handlers installed for the request take over.
final class FirstRequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let admitsUpgrade: @Sendable (HTTPRequestHead, String?) -> Bool
    private let remoteAddress: String?
    private let logger: Logger
    private var sawHead = false
    private var isClosing = false

    init(admitsUpgrade: @escaping @Sendable (HTTPRequestHead, String?) -> Bool, remoteAddress: String?, logger: Logger) {
        self.admitsUpgrade = admitsUpgrade
        self.remoteAddress = remoteAddress
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !sawHead, case .head(var head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        sawHead = true
        if head.headers.contains(name: "upgrade"), !admitsUpgrade(head, remoteAddress) {
            // Not to be a stream: let it through as a plain request, for the router to answer,
            // and close the connection after that answer (its client meant to leave HTTP).
            head.headers.remove(name: "upgrade")
            head.headers.replaceOrAdd(name: "connection", value: "close")
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if !sawHead, event is IdleStateHandler.IdleStateEvent {
            logger.debug("Connection closed: no complete request head within the idle timeout")
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !sawHead, let parserError = error as? HTTPParserError else { return context.fireErrorCaught(error) }
        guard !isClosing else { return }
        isClosing = true
        guard parserError != .invalidEOFState, context.channel.isActive else { return context.close(promise: nil) }
        let refusal = HTTPConnectionGuard.Refusal(parserError, logger: logger)
        var headers = HTTPHeaders()
        for field in refusal.headers { headers.add(name: field.name.rawName, value: field.value) }
        let head = HTTPResponseHead(version: .http1_1, status: .init(statusCode: Int(refusal.status.code)), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(refusal.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}

/// Passes every log entry through, but the one Hummingbird writes at `error` when a connection
/// closed before its first request (an idle or malformed one that ``FirstRequestGuard`` cut):
/// that one at `debug`, since it is the client's doing.
struct UnnegotiatedConnectionLogFilter: LogHandler {
    var wrapped: any LogHandler

    var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if event.level == .error, event.message.description == "Error handling upgrade result" {
            guard wrapped.logLevel <= .debug else { return }
            event.level = .debug
        }
        wrapped.log(event: event)
    }
}
