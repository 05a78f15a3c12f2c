import DynamoDB
import MessageStore

// A search across orders reads the change feed's entries newest first (docs/dynamodb-search.md):
// where to start, the walk down the buckets, and the current versions of what matched.

extension DynamoDBMessageStore {
    /// The most entries one `Query` page of a search reads (DynamoDB's 1 MB cut applies
    /// too): a search whose page is known mid-page has read at most this many entries too many.
    static let searchQueryPageLimit = 250
    /// How many `GetItem`s of current messages a search has in flight at once.
    static let searchFetchWidth = 4

    /// The search across orders: entries from the start (the resume hint, or the newest entry
    /// that can hold a message of the window) down to the window's beginning, each matching
    /// entry's message read as it is now and offered with the entry's number as resume hint.
    ///
    /// The walk can say, as it goes, how recent an entry it has not read can be: numbers are
    /// allocated in time order, so an entry below one read at `eventTime` t carries a message
    /// stored before t + ``searchClockMarginMilliseconds``, whichever clock stamped each.
    /// That is the collector's watermark; it stops when the page is known (``SearchPageCollector/isComplete``),
    /// when such an entry is older than the window, or when the feed's oldest entry is passed.
    func searchFeed(_ request: SearchRequest, window: SearchWindow, now: Int64, cost: inout SearchReadCost) async throws
        -> Page<StoredMessage, SearchPosition>
    {
        var collector = SearchPageCollector(for: request)
        let last = try await FeedSequenceCounter.last(in: configuration.tableName, client: client)
        cost.countGetItem(nil)  // the counter: a few bytes, one unit
        let start: Int64
        if let hint = request.after?.resumeHint {
            start = min(hint, last)
        } else {
            // The end of the window's last second, then the margin; pinned, as the window is a client's.
            let (windowEnd, pastEnd) = Self.milliseconds(ofSecond: window.to).addingReportingOverflow(1000 + Self.searchClockMarginMilliseconds)
            // Most windows end now: then every entry may hold one of their messages.
            start = pastEnd || windowEnd >= now ? last : try await newestSequence(notAfter: windowEnd, last: last, cost: &cost)
        }
        let (earliest, beforeStart) = Self.milliseconds(ofSecond: window.from).subtractingReportingOverflow(Self.searchClockMarginMilliseconds)
        let beginning = beforeStart ? Int64.min : earliest
        let startBucket = FeedEntryItem.bucket(of: max(start, 0))
        var fetched: Set<[UInt8]> = []
        var oldestTime = Int64.max
        // The newest entry not read yet; numbers start at 1.
        var next = start
        var bucket = startBucket
        while next >= 1 {
            var input = descendingBucketQuery(bucket, through: next)
            input.limit = configuration.queryPageSize ?? Self.searchQueryPageLimit
            var bucketHeldEntries = false
            repeat {
                let output = try await client.query(input)
                cost.countQuery(output.items)
                var matches: [(sequence: Int64, key: MessageKey)] = []
                for item in output.items {
                    let slot = try FeedEntryItem.slot(from: item)
                    bucketHeldEntries = true
                    oldestTime = min(oldestTime, slot.position.time)
                    next = slot.position.sequence - 1
                    // Tombstones hold nothing and a read-status change keeps the text.
                    guard case .event(let event, _) = slot, event.kind != .read, Self.mayMatch(event.message, request) else { continue }
                    if fetched.insert(event.message.keyBytes).inserted {
                        matches.append((event.position.sequence, event.message.key))
                    }
                }
                for found in try await currentMessages(matches, cost: &cost) {
                    collector.offer(found.message, resumeHint: found.sequence)
                }
                if case let (newest, overflow) = oldestTime.addingReportingOverflow(Self.searchClockMarginMilliseconds), !overflow {
                    collector.lowerWatermark(to: Self.floorSeconds(newest))
                }
                if collector.isComplete { return collector.page(exhausted: false, unreadFrom: next) }
                if oldestTime < beginning { return collector.page(exhausted: true) }
                input.exclusiveStartKey = output.lastEvaluatedKey
            } while input.exclusiveStartKey != nil
            // A whole bucket gone below the start is TTL's work: what is older has expired too
            // (or soon will), and lies before any window this store accepts.
            if !bucketHeldEntries && bucket < startBucket { break }
            next = bucket * FeedEntryItem.bucketSize - 1
            bucket -= 1
        }
        return collector.page(exhausted: true)
    }

    /// The highest number below which every entry may hold a message stored at or before
    /// `time` (Unix ms): the entries are searched by halves, each probe a `Query` for the
    /// newest entry at or below a number in its bucket (`Limit 1`, descending), for the first
    /// entry whose `eventTime` is after `time`; the answer is just below it, or `last`.
    ///
    /// Times only roughly follow numbers (clocks differ), so the search may stop at any entry
    /// after `time`, not the first: that is safe, since every entry numbered after one stamped
    /// after `time` was allocated later still (see ``searchClockMarginMilliseconds``). A probe
    /// that finds nothing (slots expired, or in flight) counts as early, which can only move
    /// the answer later. About log2(`last`) probes.
    func newestSequence(notAfter time: Int64, last: Int64, cost: inout SearchReadCost) async throws -> Int64 {
        var low: Int64 = 1
        var high = last
        var answer = last
        while low <= high {
            let middle = low + (high - low) / 2
            var input = descendingBucketQuery(FeedEntryItem.bucket(of: middle), through: middle)
            input.limit = 1
            let output = try await client.query(input)
            cost.countQuery(output.items)
            if let item = output.items.first, case let slot = try FeedEntryItem.slot(from: item), slot.position.time > time {
                answer = slot.position.sequence - 1
                high = answer
            } else {
                low = middle + 1
            }
        }
        return answer
    }

    /// A strongly consistent `Query` of one bucket's entries numbered up to `sequence`,
    /// newest first.
    private func descendingBucketQuery(_ bucket: Int64, through sequence: Int64) -> QueryInput {
        QueryInput(
            tableName: configuration.tableName, keyConditionExpression: "#pk = :bucket AND #sk <= :top",
            expressionAttributeNames: ["#pk": FeedEntryItem.Attribute.partitionKey.rawValue, "#sk": FeedEntryItem.Attribute.sortKey.rawValue],
            expressionAttributeValues: [
                ":bucket": .string(FeedEntryItem.partitionKey(bucket: bucket)),
                ":top": .string(FeedEntryItem.sortKey(min(sequence, (bucket + 1) * FeedEntryItem.bucketSize - 1))),
            ],
            consistentRead: true, scanIndexForward: false
        )
    }

    /// The messages at `keys` as they are now (strongly consistent `GetItem`s,
    /// ``searchFetchWidth`` at a time), in the order asked, each with the entry that led to it;
    /// those no longer there are left out.
    private func currentMessages(_ matches: [(sequence: Int64, key: MessageKey)], cost: inout SearchReadCost) async throws
        -> [(sequence: Int64, message: StoredMessage)]
    {
        guard !matches.isEmpty else { return [] }
        let client = client
        let requests = matches.map { GetItemInput(tableName: configuration.tableName, key: Self.messageKey($0.key), consistentRead: true) }
        let items = try await withThrowingTaskGroup(of: (Int, Item?).self) { group in
            var items = [Item?](repeating: nil, count: requests.count)
            var started = 0
            func startNext() {
                let index = started
                let input = requests[index]
                group.addTask { (index, try await client.getItem(input)) }
                started += 1
            }
            while started < min(Self.searchFetchWidth, requests.count) { startNext() }
            while let (index, item) = try await group.next() {
                items[index] = item
                if started < requests.count { startNext() }
            }
            return items
        }
        var found: [(sequence: Int64, message: StoredMessage)] = []
        for (match, item) in zip(matches, items) {
            cost.countGetItem(item)
            if let item { found.append((match.sequence, try Self.message(from: item))) }
        }
        return found
    }

    /// Whether an entry's copy of a message can lead to a result: of the type asked for and
    /// matching the query. The current version decides (``SearchRequest/accepts(_:)``).
    private static func mayMatch(_ copy: StoredMessage, _ request: SearchRequest) -> Bool {
        if let type = request.messageType, copy.messageType != type { return false }
        return request.query.matches(copy)
    }

    /// The Unix second of a time in Unix ms, rounded down (towards the past for any sign).
    static func floorSeconds(_ milliseconds: Int64) -> Int64 {
        milliseconds >= 0 ? milliseconds / 1000 : -((-milliseconds + 999) / 1000)
    }
}
