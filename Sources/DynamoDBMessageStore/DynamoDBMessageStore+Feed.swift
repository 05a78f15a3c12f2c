import DynamoDB
import Foundation
import MessageStore

// The change feed on DynamoDB (docs/dynamodb-feed.md): numbered slots in the table, numbers
// handed out by one atomic counter, read back by number with strongly consistent reads. No
// index and no clock decides what a reader has seen, so nothing can land behind it.

extension DynamoDBMessageStore {
    /// The most events one feed page returns, and the fewest a request is raised to.
    static let feedPageLimits = 1...1000
    /// The most slots one feed read walks beyond its page (tombstones, other orders' events).
    static let feedWalkLimit: Int64 = 1000

    /// Walks the feed's slots in number order from `position`, up to the counter read at the
    /// start (every number up to it has been handed out, so a slot that is not there yet is a
    /// write in flight or abandoned, never one that will come after a later number).
    ///
    /// Events are returned; tombstones and events older than retention are passed over but
    /// count as walked. The first slot that is missing (a gap) ends the page when something
    /// was walked before it; when it is the first slot after `position`, the read waits for
    /// it, strongly consistent, up to `feedGapTimeout`, then closes it with a tombstone (see
    /// ``awaitSlot(_:)``). So a page never ends beyond a number that a write may still take,
    /// and every event after `position` is returned by following `next`, whichever instance
    /// stored it, across crashes too.
    ///
    /// With `orderID`, the whole feed is walked the same way and only that order's events are
    /// returned: such a read costs what the global feed's range costs, and `next` moves past
    /// the other orders' events even when none matched. At most about `max(limit, 1000)`
    /// slots are walked per call. `position == nil` starts from the oldest event kept (see
    /// ``oldestKeptSlot(last:now:)``).
    ///
    /// Cost: one strongly consistent `GetItem` (the counter) and strongly consistent `Query`
    /// pages over the slots walked (a bucket boundary costs one more), 1 read unit per 4 KB
    /// read; a gap adds a `GetItem` every ``feedGapPollInterval`` while it is waited for.
    /// - Throws: ``FeedPositionExpired`` when `position` is older than retention.
    public func feed(after position: FeedPosition?, orderID: String?, limit: Int) async throws -> FeedPage {
        let now = Self.nowMilliseconds()
        if let position, configuration.feedRetention.hasExpired(position, now: now) { throw FeedPositionExpired(position: position) }
        let limit = min(max(limit, Self.feedPageLimits.lowerBound), Self.feedPageLimits.upperBound)
        return try await mappingErrors(extra: configuration.feedGapTimeout) {
            let last = try await FeedSequenceCounter.last(in: configuration.tableName, client: client)
            let start: FeedPosition
            if let position {
                start = position
            } else if let oldest = try await oldestKeptSlot(last: last, now: now) {
                start = FeedPosition(sequence: oldest.sequence - 1, time: oldest.time)
            } else {
                return FeedPage(events: [], next: try await endOfFeed(last: last, now: now))
            }
            return try await walkFeed(from: start, through: last, orderID: orderID, limit: limit, now: now)
        }
    }

    /// The walk of ``feed(after:orderID:limit:)``, from `start` to at most `last`.
    private func walkFeed(from start: FeedPosition, through last: Int64, orderID: String?, limit: Int, now: Int64) async throws -> FeedPage {
        let end = min(last, start.sequence + max(Int64(limit), Self.feedWalkLimit))
        var events: [FeedEvent] = []
        var walked = start
        var loaded: [Int64: FeedEntryItem.Slot] = [:]
        // Numbers start at 1: a position before that (one a caller made up) starts there.
        let first = max(1, start.sequence + 1)
        var loadedThrough = first - 1
        var sequence = first
        while sequence <= end, events.count < limit {
            if sequence > loadedThrough {
                // Unfiltered, a page needs about as many slots as events; filtered, any number.
                let chunk = orderID == nil ? Int64(limit - events.count) : Self.feedWalkLimit
                loadedThrough = min(end, sequence - 1 + chunk)
                loaded = try await slots(from: sequence, through: loadedThrough)
            }
            let slot: FeedEntryItem.Slot
            if let present = loaded[sequence] {
                slot = present
            } else if sequence == first {
                slot = try await awaitSlot(sequence)
            } else {
                break  // a gap after what was walked: this page ends before it
            }
            // Positions only move forward, in time too, whatever clock wrote each slot.
            walked = FeedPosition(sequence: sequence, time: max(walked.time, slot.position.time))
            if case .event(let event, let eventOrderID) = slot, !configuration.feedRetention.hasExpired(event.position, now: now),
                orderID.map({ eventOrderID.hasSameUTF8(as: $0) }) ?? true
            {
                events.append(event)
            }
            sequence += 1
        }
        return FeedPage(events: events, next: walked)
    }

    /// The end of the feed: the counter `C` is read, and the position returned is just before
    /// the first slot among the last 1,000 up to `C` that is still missing (a write that may
    /// yet commit), or `C` when none is; its time is now. A follower starting there misses no
    /// write that had not committed when this was called. It may receive a few that had (those
    /// after the first missing slot): the price of never skipping one.
    ///
    /// It assumes that missing slots older than the last 1,000 were closed already: any
    /// follower closes a gap within `feedGapTimeout` of reaching it.
    public func feedEnd() async throws -> FeedPosition {
        let now = Self.nowMilliseconds()
        return try await mappingErrors {
            try await endOfFeed(last: try await FeedSequenceCounter.last(in: configuration.tableName, client: client), now: now)
        }
    }

    /// ``feedEnd()`` once the counter was read as `last`.
    private func endOfFeed(last: Int64, now: Int64) async throws -> FeedPosition {
        guard last > 0 else { return FeedPosition(sequence: 0, time: now) }
        let first = max(1, last - Self.feedWalkLimit + 1)
        let present = try await slots(from: first, through: last)
        let firstMissing = (first...last).first { present[$0] == nil }
        return FeedPosition(sequence: firstMissing.map { $0 - 1 } ?? last, time: now)
    }

    /// Drops nothing: DynamoDB's TTL deletes entries once their `expiresAt` has passed.
    public func pruneFeed() async throws -> Int { 0 }

    /// A quarter of a second: a poll is a strongly consistent `GetItem` and usually one
    /// `Query` of one bucket, cheap enough to make other instances' writes show up quickly.
    public var feedPollInterval: Duration { .milliseconds(250) }

    /// Now on this instance's clock, Unix milliseconds.
    static func nowMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}
