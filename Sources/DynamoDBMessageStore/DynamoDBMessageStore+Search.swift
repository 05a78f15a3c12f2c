import DynamoDB
import Logging
import MessageStore

// Full-text search on DynamoDB (issue 13; docs/dynamodb-search.md). DynamoDB has no text index:
// one order is searched by reading its partition, and a search across orders reads the change
// feed's entries of the window asked for, newest first, each entry carrying the message as that
// change left it.

extension DynamoDBMessageStore {
    /// One minute: how far a feed entry's `eventTime` may be from the `storedAt` of the message
    /// it carries. `storedAt` is stamped by the instance that received the delivery, on its
    /// clock, when the request arrived; `eventTime` by the instance that wrote the entry, on its
    /// clock, when it allocated the entry's number, which can be seconds later (retries of lost
    /// races, a slow transaction, within `operationTimeout` each). So both the instances' clock
    /// difference and that delay must fit in it, on each side.
    static let searchClockMarginMilliseconds: Int64 = 60_000

    /// Time a search may take beyond `operationTimeout`: a search across orders reads every
    /// feed entry of its window (up to 31 days of changes) until its page is known, many
    /// `Query` pages, where other operations make a handful of calls.
    static let searchTimeAllowance: Duration = .seconds(25)

    /// One page of the messages that match `request` (see ``MessageStore/search(_:)``).
    ///
    /// **With an order** (`request.orderID`): the order's partition is read whole (a strongly
    /// consistent `Query`, every page; only the type's keys when `request.messageType` is
    /// set) and each message is judged by ``SearchRequest/accepts(_:)``. Cost: the order's
    /// size, 1 read unit per 4 KB, whatever page is asked for.
    ///
    /// **Without an order**, DynamoDB has no index to look text up in, so the change feed's
    /// entries are read instead (docs/dynamodb-feed.md): every change the store made to a
    /// message within retention is one entry holding the message as that change left it. The
    /// request needs a window of `storedAt` of at most ``SearchWindow/maximumDays`` days that
    /// starts within the feed's retention. The entries are read newest first (strongly
    /// consistent `Query`s, descending, bucket by bucket) from the newest one whose
    /// `eventTime` falls before the window's end (plus ``searchClockMarginMilliseconds``), or
    /// from the position's resume hint, until the page is known or the entries read are older
    /// than the window's beginning (less the margin). Tombstones and read-status events are
    /// passed over; for an entry whose message matches the query, the message as it is now is
    /// read (`GetItem`, strongly consistent, a few at a time) and it is that version which is
    /// judged, so a message changed since is found by its newest text, in its newest place.
    ///
    /// Cost without an order: about the window's feed entries (for a window of D days at R
    /// changes a day of S bytes each, D·R·S / 4 KB read units), less when the page is known
    /// before the window's beginning is reached, plus one `GetItem` per matching message, one
    /// for the feed's counter and about log2(entries) single-item `Query`s to find where to
    /// start when the window ends before now. Each call logs what it read at debug level.
    ///
    /// - Throws: ``SearchWindowRequired`` without an order when the window is missing, longer
    ///   than ``SearchWindow/maximumDays`` days, or starts before the feed's retention.
    public func search(_ request: SearchRequest) async throws -> Page<StoredMessage, SearchPosition> {
        guard request.limit > 0 else { return Page(items: [], next: nil) }
        var cost = SearchReadCost()
        let page: Page<StoredMessage, SearchPosition>
        if let orderID = request.orderID {
            page = try await mappingErrors { try await searchOrder(orderID, request, cost: &cost) }
        } else {
            let now = Self.nowMilliseconds()
            let window = try searchWindow(of: request, now: now)
            page = try await mappingErrors(extra: Self.searchTimeAllowance) {
                try await searchFeed(request, window: window, now: now, cost: &cost)
            }
        }
        var metadata = cost.metadata
        metadata["table"] = .string(configuration.tableName)
        metadata["by_order"] = .stringConvertible(request.orderID != nil)
        metadata["results"] = .stringConvertible(page.items.count)
        logger.debug("Searched messages", metadata: metadata)
        return page
    }

    /// The window a search across orders reads, once checked against this store's limits.
    /// - Throws: ``SearchWindowRequired`` with a reason for the client.
    func searchWindow(of request: SearchRequest, now: Int64) throws(SearchWindowRequired) -> SearchWindow {
        let maximumDays = SearchWindow.maximumDays
        // Not `window.seconds`: a client's extreme values must not overflow.
        guard let window = request.window, case let (length, overflow) = window.to.subtractingReportingOverflow(window.from), !overflow,
            length <= maximumDays * 86_400
        else {
            throw SearchWindowRequired(
                reason: "A search without order_id needs a window: from (and optionally to), at most \(maximumDays) days apart."
            )
        }
        // A minute's slack, so that "the last 30 days" asked a moment ago still passes: entries
        // stay a day past retention (FeedRetention.dropMarginMilliseconds) before TTL drops them.
        guard Self.milliseconds(ofSecond: window.from) >= now - configuration.feedRetention.milliseconds - Self.searchClockMarginMilliseconds else {
            let days = configuration.feedRetention.milliseconds / 86_400_000
            throw SearchWindowRequired(
                reason: "A search without order_id reaches back \(days) day\(days == 1 ? "" : "s"), as long as this store's change feed keeps "
                    + "messages: from must be within that; search older messages with order_id."
            )
        }
        return window
    }

    /// A Unix second in milliseconds, pinned to `Int64`'s range (windows come from clients).
    static func milliseconds(ofSecond second: Int64) -> Int64 {
        let (product, overflow) = second.multipliedReportingOverflow(by: 1000)
        return overflow ? (second < 0 ? .min : .max) : product
    }

    /// The order path: the whole partition (of the type's keys when the request has one),
    /// every message offered.
    private func searchOrder(_ orderID: String, _ request: SearchRequest, cost: inout SearchReadCost) async throws -> Page<StoredMessage, SearchPosition> {
        var input = orderQuery(orderID, type: request.messageType)
        var collector = SearchPageCollector(for: request)
        repeat {
            let output = try await client.query(input)
            cost.countQuery(output.items)
            for item in output.items { collector.offer(try Self.message(from: item)) }
            input.exclusiveStartKey = output.lastEvaluatedKey
        } while input.exclusiveStartKey != nil
        return collector.page(exhausted: true)
    }
}
