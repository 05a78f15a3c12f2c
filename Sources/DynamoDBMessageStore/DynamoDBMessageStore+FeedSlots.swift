import DynamoDB
import Logging
import MessageStore

// Reading and closing the feed's slots: ranges of them by strongly consistent Query, a gap
// waited for and then tombstoned, and the oldest slot retention keeps.

extension DynamoDBMessageStore {
    /// How often a reader looks again at a gap it waits for.
    static let feedGapPollInterval: Duration = .milliseconds(30)

    /// The slots from `first` through `last` that are there, by number: one strongly
    /// consistent `Query` per bucket the range touches (more pages for large entries).
    func slots(from first: Int64, through last: Int64) async throws -> [Int64: FeedEntryItem.Slot] {
        guard first <= last else { return [:] }
        var slots: [Int64: FeedEntryItem.Slot] = [:]
        for bucket in FeedEntryItem.bucket(of: first)...FeedEntryItem.bucket(of: last) {
            let input = QueryInput(
                tableName: configuration.tableName, keyConditionExpression: "#pk = :bucket AND #sk BETWEEN :first AND :last",
                expressionAttributeNames: ["#pk": FeedEntryItem.Attribute.partitionKey.rawValue, "#sk": FeedEntryItem.Attribute.sortKey.rawValue],
                expressionAttributeValues: [
                    ":bucket": .string(FeedEntryItem.partitionKey(bucket: bucket)),
                    ":first": .string(FeedEntryItem.sortKey(max(first, bucket * FeedEntryItem.bucketSize))),
                    ":last": .string(FeedEntryItem.sortKey(min(last, (bucket + 1) * FeedEntryItem.bucketSize - 1))),
                ],
                limit: configuration.queryPageSize, consistentRead: true
            )
            for item in try await client.queryAll(input) {
                let slot = try FeedEntryItem.slot(from: item)
                slots[slot.position.sequence] = slot
            }
        }
        return slots
    }

    /// One slot, read strongly consistent, or `nil` while it is empty.
    func slot(_ sequence: Int64) async throws -> FeedEntryItem.Slot? {
        try await client.getItem(GetItemInput(tableName: configuration.tableName, key: FeedEntryItem.key(sequence), consistentRead: true))
            .map(FeedEntryItem.slot(from:))
    }

    /// Waits for a gap to fill, looking every ``feedGapPollInterval`` for `feedGapTimeout`,
    /// then closes it with a tombstone. The tombstone and the write that was allocated the
    /// slot are both conditioned on the slot being empty, so exactly one of them lands: if the
    /// write does, the tombstone's condition fails and the event is read instead; if the
    /// tombstone does, the write's transaction is cancelled and it retries under a new number.
    /// Either way no event is lost and the slot is settled.
    func awaitSlot(_ sequence: Int64) async throws -> FeedEntryItem.Slot {
        let giveUp = ContinuousClock.now + configuration.feedGapTimeout
        while true {
            if let slot = try await slot(sequence) { return slot }
            if ContinuousClock.now >= giveUp { break }
            try await Task.sleep(for: Self.feedGapPollInterval)
        }
        let slot = try await writeTombstone(sequence)
        if case .tombstone = slot {
            logger.info(
                "Closed a feed slot that stayed empty past the gap timeout",
                metadata: ["table": .string(configuration.tableName), "sequence": .stringConvertible(sequence)]
            )
        }
        return slot
    }

    /// Writes a tombstone into a slot unless it is taken.
    /// - Returns: the tombstone, or what took the slot first.
    @discardableResult
    func writeTombstone(_ sequence: Int64) async throws -> FeedEntryItem.Slot {
        let time = Self.nowMilliseconds()
        do {
            _ = try await client.putItem(PutItemInput(
                tableName: configuration.tableName, item: FeedEntryItem.tombstone(sequence: sequence, time: time, retention: configuration.feedRetention),
                conditionExpression: "attribute_not_exists(#pk)", expressionAttributeNames: ["#pk": FeedEntryItem.Attribute.partitionKey.rawValue]
            ))
            return .tombstone(FeedPosition(sequence: sequence, time: time))
        } catch let error as DynamoDBError where error.isConditionalCheckFailure {
            guard let slot = try await slot(sequence) else {
                throw MessageStoreError.failed("feed slot \(sequence) was taken, then found empty")
            }
            return slot
        }
    }

    /// Where a read from the start of the feed begins: the first slot (event or tombstone)
    /// whose time is within retention, or `nil` when none is.
    ///
    /// Slots are numbered in about the order of their times, so the buckets are searched by
    /// halves, each probe reading a bucket's last slot (`Query`, descending, `Limit 1`), for
    /// the first bucket whose last slot is kept; that bucket is then read forward to its first
    /// kept slot. About `log2(buckets) + 1` reads. Missing slots before that one are not
    /// waited for: they were dropped by TTL, or are writes allocated before the oldest kept
    /// slot, which a reader starting from the oldest event has no position to be owed.
    func oldestKeptSlot(last: Int64, now: Int64) async throws -> FeedPosition? {
        guard last > 0 else { return nil }
        let cutoff = now - configuration.feedRetention.milliseconds
        var low: Int64 = 0
        var high = FeedEntryItem.bucket(of: last)
        var found: Int64?
        while low <= high {
            let middle = low + (high - low) / 2
            var input = bucketQuery(middle)
            input.scanIndexForward = false
            input.limit = 1
            let newest = try await client.query(input).items.first.map(FeedEntryItem.slot(from:))
            if let newest, newest.position.time >= cutoff {
                found = middle
                high = middle - 1
            } else {
                low = middle + 1
            }
        }
        guard let found else { return nil }
        var input = bucketQuery(found)
        input.filterExpression = "#eventTime >= :cutoff"
        input.expressionAttributeNames?["#eventTime"] = FeedEntryItem.Attribute.eventTime.rawValue
        input.expressionAttributeValues?[":cutoff"] = .integer(cutoff)
        return try await client.queryItems(input, upTo: 1).first.map { try FeedEntryItem.slot(from: $0).position }
    }

    /// A strongly consistent Query of one bucket's slots, in number order.
    private func bucketQuery(_ bucket: Int64) -> QueryInput {
        QueryInput(
            tableName: configuration.tableName, keyConditionExpression: "#pk = :bucket",
            expressionAttributeNames: ["#pk": FeedEntryItem.Attribute.partitionKey.rawValue],
            expressionAttributeValues: [":bucket": .string(FeedEntryItem.partitionKey(bucket: bucket))],
            limit: configuration.queryPageSize, consistentRead: true
        )
    }
}
