import CoreMetrics
import Foundation

/// What HTTPS records: failed handshakes by reason, certificate reloads by outcome, and when
/// the certificate being served expires, so that a renewal that never arrived or was refused
/// raises an alert before clients see an expired certificate.
public struct TLSMetrics: Sendable {
    /// Why a connection never got past its TLS handshake, as its `reason` label.
    enum HandshakeFailure: String, CaseIterable, Sendable {
        /// The handshake (and ALPN) did not finish within the idle timeout.
        case timeout
        /// The handshake failed: a protocol or cipher the service does not offer, a client that
        /// does not trust the certificate, or bytes that are not TLS.
        case failed
    }

    /// What became of a reload, as its `outcome` label.
    enum ReloadOutcome: String, CaseIterable, Sendable {
        /// The new pair passed every check and new connections get it.
        case loaded
        /// The new pair was refused; the one in use stays.
        case refused
    }

    private let handshakeFailures: [HandshakeFailure: Counter]
    private let reloads: [ReloadOutcome: Counter]
    private let expiration: Gauge

    /// Makes every series in `factory` now, at zero.
    public init(factory: any MetricsFactory) {
        handshakeFailures = Dictionary(
            uniqueKeysWithValues: HandshakeFailure.allCases.map {
                ($0, Counter(label: MetricName.tlsHandshakeFailures, dimensions: [("reason", $0.rawValue)], factory: factory))
            }
        )
        reloads = Dictionary(
            uniqueKeysWithValues: ReloadOutcome.allCases.map {
                ($0, Counter(label: MetricName.tlsReloads, dimensions: [("outcome", $0.rawValue)], factory: factory))
            }
        )
        expiration = Gauge(label: MetricName.tlsCertificateExpiration, factory: factory)
    }

    /// Counts one connection that failed its handshake.
    func recordHandshakeFailure(_ reason: HandshakeFailure) { handshakeFailures[reason]?.increment() }

    /// Counts one reload.
    func recordReload(_ outcome: ReloadOutcome) { reloads[outcome]?.increment() }

    /// Records when the certificate now served expires.
    func recordServedCertificate(expiringAt date: Date) { expiration.record(date.timeIntervalSince1970) }
}
