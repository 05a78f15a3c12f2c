import Foundation
import Synchronization

/// The time requests are signed with: this machine's clock plus an offset learnt from the
/// server, so a machine whose clock is minutes off still signs times AWS accepts.
///
/// AWS refuses a signature dated too far from its own clock (DynamoDB: five minutes either
/// way, "Signature expired" or "Signature not yet current"). When an answer that may mean that
/// (see the client's clock-skew codes) carries a `Date` at least ``threshold`` away from the
/// time the request was signed, ``correct(serverDate:signedAt:)`` takes the server's clock for
/// the truth from then on, as the AWS SDKs do (the Java v2 SDK's `ClockSkew`, the Swift SDK's
/// `AWSClockSkewProvider`; botocore has no such correction). One clock per client, shared by
/// every request it sends.
public final class SigningClock: Sendable {
    /// How far the signing time and the server's `Date` must differ for the clock to be blamed:
    /// four minutes, the Java v2 SDK's `CLOCK_SKEW_ADJUST_THRESHOLD` (a minute under the
    /// Swift SDK's five, so a server that refuses at five is always corrected).
    public static let threshold: TimeInterval = 240

    private let localNow: @Sendable () -> Date
    /// Seconds to add to the local clock: the server's time minus ours, as last learnt.
    private let offsetSeconds = Mutex<TimeInterval>(0)

    /// Creates a clock with no offset.
    /// - Parameter localNow: This machine's clock, so tests can put it off.
    public init(localNow: @escaping @Sendable () -> Date = Date.init) {
        self.localNow = localNow
    }

    /// The time to sign a request with now.
    public func now() -> Date {
        localNow().addingTimeInterval(offset)
    }

    /// The seconds added to the local clock (positive: the server's clock is ahead of ours).
    public var offset: TimeInterval {
        offsetSeconds.withLock { $0 }
    }

    /// Learns the server's clock from an answer that may mean a skewed clock.
    ///
    /// - Parameters:
    ///   - serverDate: The answer's `Date`.
    ///   - signedAt: The time the refused request was signed with (``now()`` then).
    /// - Returns: The new offset in seconds when the request's time was at least ``threshold``
    ///   from the server's, so the request is worth signing again; `nil` when the clock is not
    ///   to blame (the offset is left as it was). Requests refused together each get the same
    ///   answer: the offset is the server's time minus the local clock, not a sum of corrections.
    public func correct(serverDate: Date, signedAt: Date) -> TimeInterval? {
        guard abs(serverDate.timeIntervalSince(signedAt)) >= Self.threshold else { return nil }
        let learnt = serverDate.timeIntervalSince(localNow())
        offsetSeconds.withLock { $0 = learnt }
        return learnt
    }
}
