// The change feed: one event per stored change of a message, numbered store-wide in the order
// the changes were stored, so that a reader can follow every change from any point and resume
// where it stopped.

/// A place in the change feed: an event's sequence number, and when that event was stored.
///
/// Positions are ordered by their sequence alone. The time is what retention is judged by (a
/// reader whose position is older than the feed keeps may have missed events); for a position
/// that is no event's (the start of an empty feed, or the end of the feed when a reader asked
/// for it), it is when the position was taken.
public struct FeedPosition: Sendable, Hashable, Comparable {
    /// The event's sequence number. Sequence numbers only grow; they need not be contiguous
    /// (a store may give up a number that no event then holds).
    public var sequence: Int64
    /// When the event was stored, server time, Unix milliseconds.
    public var time: Int64

    /// Creates a position.
    public init(sequence: Int64, time: Int64) {
        self.sequence = sequence
        self.time = time
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.sequence < rhs.sequence }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.sequence == rhs.sequence }
    public func hash(into hasher: inout Hasher) { hasher.combine(sequence) }
}

/// What a change did to a message.
public enum FeedEventKind: String, Sendable, Hashable, CaseIterable {
    /// A delivery stored a message that was not stored before (outcome `created`).
    case created = "message.created"
    /// A delivery replaced an older version (outcome `updated`).
    case updated = "message.updated"
    /// A reader changed the message's `read`.
    case read = "message.read"
}

/// One stored change: its place in the feed, what it did, and the message as stored right
/// after it (not as it is now: a later change is a later event).
public struct FeedEvent: Sendable, Hashable {
    /// The event's place in the feed.
    public var position: FeedPosition
    /// What the change did.
    public var kind: FeedEventKind
    /// The message as the change left it.
    public var message: StoredMessage

    /// Creates an event.
    public init(position: FeedPosition, kind: FeedEventKind, message: StoredMessage) {
        self.position = position
        self.kind = kind
        self.message = message
    }
}

/// One page of the change feed.
public struct FeedPage: Sendable {
    /// The events, in sequence order.
    public var events: [FeedEvent]
    /// Where the next read continues: the last event's position; further on when events of
    /// other orders were passed over; the position asked for when nothing follows it yet.
    public var next: FeedPosition

    /// Creates a page.
    public init(events: [FeedEvent], next: FeedPosition) {
        self.events = events
        self.next = next
    }
}

/// A feed position from before what the feed keeps: events after it may have been dropped
/// by retention, so the reader cannot resume from it without possibly missing some.
public struct FeedPositionExpired: Error, Sendable, Hashable {
    /// The position asked for.
    public var position: FeedPosition

    /// Creates the error.
    public init(position: FeedPosition) {
        self.position = position
    }
}

/// How long the feed keeps events (`FEED_RETENTION_DAYS`).
public struct FeedRetention: Sendable, Hashable {
    /// How long an event is kept, in milliseconds.
    public var milliseconds: Int64

    /// Thirty days, the default.
    public static let `default` = FeedRetention(days: 30)

    /// Keeps events for `days` days.
    public init(days: Int) {
        self.milliseconds = Int64(days) * 86_400_000
    }

    /// Whether a reader at `position` may have missed events by time `now` (Unix ms): it is
    /// older than what the feed keeps.
    public func hasExpired(_ position: FeedPosition, now: Int64) -> Bool {
        position.time < now - milliseconds
    }

    /// The margin a store keeps events beyond ``milliseconds`` before it drops them: a
    /// position that has not expired is always followed by every event stored after it, even
    /// when clocks differ between the instances that stored them.
    public static let dropMarginMilliseconds: Int64 = 86_400_000

    /// The time (Unix ms) before which a store may drop an event, at time `now`.
    public func dropBefore(now: Int64) -> Int64 {
        now - milliseconds - Self.dropMarginMilliseconds
    }
}
