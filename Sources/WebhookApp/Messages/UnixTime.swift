import Foundation

/// The wall clock as the stored items and the logs spell it: Unix time in milliseconds.
enum UnixTime {
    /// Milliseconds since 1970-01-01T00:00:00Z, rounded down.
    static func nowMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}
