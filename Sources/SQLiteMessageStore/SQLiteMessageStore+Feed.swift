import Foundation
import MessageStore

// The change feed on SQLite: the `feed` table (see ``SQLiteFeed``), written in each change's
// own transaction, read on the reader threads, and trimmed by ``pruneFeed()``.
extension SQLiteMessageStore {
    public func feed(after position: FeedPosition?, orderID: String?, limit: Int) async throws -> FeedPage {
        let limit = min(max(limit, 1), Self.largestPage)
        let retention = feedRetention
        let now = Self.nowMilliseconds()
        if let position, retention.hasExpired(position, now: now) { throw FeedPositionExpired(position: position) }
        return try await onReader { connection in
            // Without a position: from the oldest event retention keeps (older ones may still
            // wait for the pruner).
            let start = try position?.sequence
                ?? SQLiteFeed.sequenceBefore(eventsSince: now - retention.milliseconds, on: connection)
                ?? SQLiteFeed.lastSequenceGiven(on: connection)
            let (events, newest) = try SQLiteFeed.events(after: start, orderID: orderID, limit: limit, on: connection)
            guard events.count < limit else { return FeedPage(events: events, next: events[events.count - 1].position) }
            // The whole rest of the feed was read: the reader is caught up as of now, past any
            // events of other orders too. Taking the time now keeps a quiet feed's position
            // from expiring while nothing was missed.
            let end = max(newest?.sequence ?? 0, start)
            return FeedPage(events: events, next: FeedPosition(sequence: end, time: now))
        }
    }

    public func feedEnd() async throws -> FeedPosition {
        let now = Self.nowMilliseconds()
        return try await onReader { connection in
            FeedPosition(sequence: try SQLiteFeed.lastSequenceGiven(on: connection), time: now)
        }
    }

    /// Drops events older than retention (and its margin) in batches, each its own short
    /// transaction between the writer's batches, so writes never wait long behind it.
    public func pruneFeed() async throws -> Int {
        let before = feedRetention.dropBefore(now: Self.nowMilliseconds())
        var dropped = 0
        while true {
            let count = try await onWriter { connection in
                try SQLiteFeed.drop(storedBefore: before, batch: Self.pruneBatch, on: connection)
            }
            dropped += count
            if count < Self.pruneBatch { return dropped }
        }
    }

    /// Another process writing the same file is the only source of changes this process is
    /// not told about; it is checked once a second.
    public var feedPollInterval: Duration { .seconds(1) }

    /// How many events one pruning transaction drops.
    static let pruneBatch = 5_000

    /// Server time, Unix milliseconds.
    static func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}
