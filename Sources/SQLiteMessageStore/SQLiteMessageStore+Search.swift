import MessageStore

// Search on SQLite: the FTS5 trigram index (see ``SQLiteSearchIndex``), read on the reader
// threads, newest first.
extension SQLiteMessageStore {
    /// With an order: the order's messages, read by key and checked one by one (an order is
    /// small, and this costs the same whatever the query). Without one: the index's matches
    /// walked newest first, from the page's resume hint or the window's end, down to the
    /// window's start, until the page is complete.
    public func search(_ request: SearchRequest) async throws -> Page<StoredMessage, SearchPosition> {
        var request = request
        request.limit = try Self.pageLimit(request.limit)
        return try await onReader { [request] connection in
            var collector = SearchPageCollector(for: request)
            if let orderID = request.orderID {
                for message in try SQLiteRows.messages(forOrder: orderID, type: request.messageType, on: connection) {
                    collector.offer(message)
                }
                return collector.page(exhausted: true)
            }
            let (start, lowest) = Self.searchRange(of: request)
            let (exhausted, unreadFrom) = try SQLiteSearchIndex.collect(
                &collector, terms: request.query.indexedTerms, from: start, downTo: lowest, on: connection
            )
            return collector.page(exhausted: exhausted, unreadFrom: unreadFrom)
        }
    }

    /// The `docid`s that may hold the request's results: from the newest that may (the page's
    /// resume hint, else the last that a message stored by the position's second can have; and
    /// no later than the last a message stored by the window's end can have, both allowing for
    /// ``SQLiteSearchIndex/clockSlackSeconds``) down to the first of the window's start.
    static func searchRange(of request: SearchRequest) -> (start: Int64, lowest: Int64) {
        func lastDocid(storedBy second: Int64) -> Int64 {
            SQLiteSearchIndex.firstDocid(ofSecond: second + 1 + SQLiteSearchIndex.clockSlackSeconds) - 1
        }
        var start = Int64.max
        if let to = request.window?.to { start = min(start, lastDocid(storedBy: to)) }
        // The hint is exact (it names where the page's leftovers were read); the position's
        // second is only bounded by the slack.
        if let hint = request.after?.resumeHint {
            start = min(start, hint)
        } else if let after = request.after, let second = SearchPosition.seconds(ofStoredAt: after.storedAt) {
            start = min(start, lastDocid(storedBy: second))
        }
        let lowest = request.window.map { SQLiteSearchIndex.firstDocid(ofSecond: $0.from) } ?? 0
        return (start, lowest)
    }
}
