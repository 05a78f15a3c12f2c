import HTTPTypes
import Logging
import Synchronization

/// Warns, once in the life of the service, that requests arrive through a proxy
/// (`X-Forwarded-For`) while `CLIENT_ADDRESS_HEADER` is unset: every client then shares the
/// proxy's address for lockouts.
///
/// Once, not per request: a log line per request would flood the log, and one says it all.
final class UnnamedProxyWarning: Sendable {
    private let hasWarned = Atomic<Bool>(false)

    /// Logs the warning if `headers` carry `X-Forwarded-For` and it was not logged before.
    func check(_ headers: HTTPFields, peerAddress: String, logger: Logger) {
        // A relaxed load first keeps the common case (warned already) to one read.
        guard !hasWarned.load(ordering: .relaxed), headers[.xForwardedFor] != nil else { return }
        guard !hasWarned.exchange(true, ordering: .relaxed) else { return }
        logger.warning(
            "Requests carry X-Forwarded-For but CLIENT_ADDRESS_HEADER is unset: auth lockouts apply to the proxy's address, shared by every client",
            metadata: ["client_address": .string(peerAddress), "header": "X-Forwarded-For"]
        )
    }
}

extension HTTPField.Name {
    /// `X-Forwarded-For`, which proxies and load balancers add.
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}
