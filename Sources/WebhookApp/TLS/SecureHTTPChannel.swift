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
struct SecureHTTPChannel: ServerChildChannel {
    /// What a negotiated connection is: one of the two protocols' own values.
    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<NIONegotiatedHTTPVersion<UpgradableHTTPChannel.Value, HTTP2Channel.Value>>
        let channel: any Channel
    }

    let contexts: TLSContextStore
    let http1: UpgradableHTTPChannel
    let http2: HTTP2Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: contexts.current))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return channel.configureHTTP2AsyncSecureUpgrade { channel in
            http1.setup(channel: channel, logger: logger)
        } http2ConnectionInitializer: { channel in
            http2.setup(channel: channel, logger: logger)
        }
        .map { Value(negotiated: $0, channel: channel) }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http1_1(let connection): await http1.handle(value: connection, logger: logger)
            case .http2(let connection): await http2.handle(value: connection, logger: logger)
            }
        } catch {
            logger.debug("TLS or protocol negotiation failed", metadata: ["error": .string(String(describing: error))])
        }
    }
}
