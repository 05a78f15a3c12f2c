import HTTPTypes
import HummingbirdCore
import HummingbirdHTTP2
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP2
import NIOSSL
import Synchronization

/// The TLS context new connections use; replaced whole when the certificate is renewed, so
/// connections already open keep the one they started with.
public final class TLSContextStore: Sendable {
    private let context: Mutex<NIOSSLContext>

    /// Starts with `context`.
    public init(_ context: NIOSSLContext) {
        self.context = Mutex(context)
    }

    /// The context a connection accepted now gets.
    public var current: NIOSSLContext { context.withLock { $0 } }

    /// Makes `context` the one new connections get.
    public func replace(with context: NIOSSLContext) { self.context.withLock { $0 = context } }

    /// Forward-secret AEAD suites only for TLS 1.2 (TLS 1.3's own suites are all modern).
    static let cipherSuites = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    /// A server context for a PEM chain and key: TLS 1.2 and 1.3 with modern suites, HTTP/2
    /// and HTTP/1.1 by ALPN. BoringSSL refuses a key that does not match the leaf certificate
    /// (`NIOSSLError.failedToLoadPrivateKey`).
    static func serverContext(certificateChain: [NIOSSLCertificate], key: NIOSSLPrivateKey) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuites = cipherSuites
        configuration.applicationProtocols = NIOHTTP2SupportedALPNProtocols
        return try NIOSSLContext(configuration: configuration)
    }
}

/// HTTPS: TLS from the store's current context, then HTTP/2 or HTTP/1.1 (with its WebSocket
/// upgrade) as ALPN decides.
///
/// A connection must finish its handshake within ``handshakeTimeout``, or it is closed: the
/// protocols' own idle timeouts start only once ALPN has chosen one, so without this a client
/// that connects and sends nothing (or half a ClientHello) would hold its socket for ever.
struct SecureHTTPChannel: ServerChildChannel {
    /// What a negotiated connection is: one of the two protocols' own values.
    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<NIONegotiatedHTTPVersion<UpgradableHTTPChannel.Value, HTTP2Channel.Value>>
        let channel: any Channel
        let deadline: HandshakeDeadline
    }

    let contexts: TLSContextStore
    let http1: UpgradableHTTPChannel
    let http2: HTTP2Channel
    /// How long a connection has from its accept to a negotiated protocol.
    let handshakeTimeout: Duration
    /// How long an HTTP/2 connection may stay open once the server has said GOAWAY (see
    /// ``HTTP2CloseDeadline``).
    let http2CloseTimeout: Duration
    let metrics: TLSMetrics

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: contexts.current))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        let deadline = HandshakeDeadline(on: channel, after: handshakeTimeout)
        let configured = channel.configureHTTP2AsyncSecureUpgrade { channel in
            http1.setup(channel: channel, logger: logger)
        } http2ConnectionInitializer: { [http2CloseTimeout] channel in
            http2.setup(channel: channel, logger: logger).flatMapThrowing { value in
                try HTTP2CloseDeadline.add(to: channel, timeout: http2CloseTimeout)
                try HTTP2StreamErrorContainment.add(to: channel, logger: logger)
                return value
            }
        }
        configured.whenFailure { _ in deadline.cancel() }
        return configured.map { negotiated in
            negotiated.whenComplete { _ in deadline.cancel() }
            return Value(negotiated: negotiated, channel: channel, deadline: deadline)
        }
    }

    func handle(value: Value, logger: Logger) async {
        let negotiated: NIONegotiatedHTTPVersion<UpgradableHTTPChannel.Value, HTTP2Channel.Value>
        do {
            negotiated = try await value.negotiated.get()
        } catch {
            // Scanners and clients that do not trust the certificate end here, often: not worth
            // more than a debug line each, but counted.
            let reason: TLSMetrics.HandshakeFailure = value.deadline.fired ? .timeout : .failed
            metrics.recordHandshakeFailure(reason)
            logger.debug(
                "TLS handshake failed",
                metadata: [
                    "reason": .string(reason.rawValue), "error": .string(String(describing: error)),
                    "remote_address": .string(value.channel.remoteAddress?.ipAddress ?? "unknown"),
                ]
            )
            return
        }
        switch negotiated {
        case .http1_1(let connection): await http1.handle(value: connection, logger: logger)
        case .http2(let connection): await http2.handle(value: connection, logger: logger)
        }
    }
}

/// Closes a connection that has not negotiated its protocol in time, and remembers having
/// done so (to tell a timeout from a failed handshake).
final class HandshakeDeadline: Sendable {
    /// The scheduled close until it ran or was cancelled, and whether it ran.
    private let state: Mutex<(close: Scheduled<Void>?, fired: Bool)>

    /// Starts the clock for `channel`.
    init(on channel: any Channel, after timeout: Duration) {
        state = Mutex((nil, false))
        let close = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { [self] in
            state.withLock { $0 = (nil, true) }
            channel.close(promise: nil)
        }
        state.withLock { $0.close = close }
    }

    /// Whether the connection was closed for running out of time.
    var fired: Bool { state.withLock { $0.fired } }

    /// Stops the clock (the protocol was negotiated, or the connection failed first).
    func cancel() {
        state.withLock { state in
            state.close?.cancel()
            state.close = nil
        }
    }
}
