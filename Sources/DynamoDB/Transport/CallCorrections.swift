/// The corrections one call may still make: each answer that a changed request can fix is
/// fixed once, so a server that keeps refusing is believed the second time rather than asked
/// forever.
struct CallCorrections: Sendable, Hashable {
    /// Whether a clock-skew error may still re-sign the request with the server's time.
    var mayCorrectClock = true
    /// Whether an expired token may still have the credentials fetched anew.
    var mayRefreshCredentials = true
}
