import Hummingbird
import NIOCore

/// The per-request context: Hummingbird's core storage plus when the request arrived.
///
/// The request id lives where Hummingbird keeps it, in the logger's `hb.request.id`
/// metadata (`context.id`); ``RequestIDMiddleware`` sets it, and the JSON log handler
/// prints it as `request_id`.
public struct WebhookRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// When the request's head arrived, for `response_time_ms` and the request metrics.
    public let receivedAt: ContinuousClock.Instant
    /// The peer's IP address, when the connection has one.
    public let remoteAddress: String?
    /// The request's connection, for interim answers such as `100 Continue`.
    let channel: any Channel
    /// What the request's credentials may do, once ``BasicAuthMiddleware`` accepted them;
    /// `nil` on routes without authentication.
    public internal(set) var role: AccessRole?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        receivedAt = .now
        remoteAddress = source.channel.remoteAddress?.ipAddress
        channel = source.channel
    }

    /// Milliseconds since the request arrived, rounded to hundredths.
    var elapsedMilliseconds: Double {
        let elapsed = ContinuousClock.now - receivedAt
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return (milliseconds * 100).rounded() / 100
    }
}
