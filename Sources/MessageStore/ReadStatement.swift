/// The rule for `read`, which two writers now set: Qualia's deliveries, stating it at their
/// payload `timestamp`, and readers (`PATCH`), stating it at the server's time. The newest
/// statement wins, whichever writer made it.
///
/// A stored message's `read` was stated at its ``StoredMessage/readUpdatedAt`` when a reader
/// set it, and otherwise at its ``StoredMessage/timestamp`` (the delivery that set it). Every
/// store applies these two functions inside the atomic step that decides and writes.
public enum ReadStatement {
    /// When the stored `read` was stated.
    public static func time(of stored: StoredMessage) -> Int64 { stored.readUpdatedAt ?? stored.timestamp }

    /// The version to write when a newer `delivery` replaces `stored` (outcome `updated`):
    /// the delivery, keeping the stored `read` and `readUpdatedAt` when a reader set them
    /// at or after the delivery's `timestamp`.
    public static func merging(_ delivery: StoredMessage, over stored: StoredMessage) -> StoredMessage {
        var merged = delivery
        if let readerTime = stored.readUpdatedAt, delivery.timestamp <= readerTime {
            merged.read = stored.read
            merged.readUpdatedAt = readerTime
        } else {
            merged.readUpdatedAt = nil
        }
        return merged
    }

    /// The message after a reader says `read` at server time `time`, or `nil` when the stored
    /// statement is at least as new (the message then stays as it is).
    public static func applying(read: Bool, at time: Int64, to stored: StoredMessage) -> StoredMessage? {
        guard time > Self.time(of: stored) else { return nil }
        var updated = stored
        updated.read = read
        updated.readUpdatedAt = time
        return updated
    }
}
