import AWSSigning
import DynamoDB
import Foundation
import Logging
import MessageStore
import Synchronization

// How the store writes: read a message and its order's summary as one snapshot, decide, then
// write both in one transaction conditioned on that snapshot, so that the counts never drift
// and instances racing on one table cannot undo each other. Correctness comes only from the
// conditions; a write that loses a race reads again and decides again.

extension DynamoDBMessageStore {
    /// How many times one operation reads, decides and writes before it gives up on a
    /// contended order (each lost race means another writer committed meanwhile). The
    /// operation's deadline bounds it too, and usually first under heavy contention.
    static let writeAttempts = 16

    /// The pause before reading again after the `attempt`-th lost race: full jitter over an
    /// exponential bound (10 ms, 20 ms, … at most 200 ms), so writers that keep colliding
    /// on one order spread out rather than collide again in step.
    static func pause(afterLostRace attempt: Int) -> Duration {
        let bound = min(200, 10 << min(attempt - 1, 5))
        return .milliseconds(Int.random(in: 0...bound))
    }

    /// A message and its order's summary, as one transaction read them.
    struct Snapshot: Sendable {
        /// The message's key.
        var key: MessageKey
        /// The stored message, or `nil` when there is none.
        var message: StoredMessage?
        /// The order's summary, or `nil` when the order has none (a new order, or one written
        /// by a release that kept no summaries).
        var summary: VersionedSummary?
    }

    /// What a write does to the message item.
    enum MessageWrite: Sendable {
        /// Writes the whole item (a new or newer delivery).
        case put(StoredMessage)
        /// Sets `read` and `readUpdatedAt` only (a reader's statement), leaving the rest as stored.
        case setRead(StoredMessage)

        /// The message as stored after the write.
        var message: StoredMessage {
            switch self {
            case .put(let message), .setRead(let message): message
            }
        }
    }

    /// Reads a message and its order's summary in one `TransactGetItems`: a strongly
    /// consistent snapshot of the two.
    func readSnapshot(_ key: MessageKey) async throws -> Snapshot {
        let items = try await client.transactGetItems(
            TransactGetItemsInput(tableName: configuration.tableName, keys: [Self.messageKey(key), OrderSummaryItem.key(orderID: key.orderID)])
        )
        return Snapshot(key: key, message: try items[0].map(Self.message(from:)), summary: try items[1].map(OrderSummaryItem.record(from:)))
    }

    /// Writes the message, its order's new summary and the change's feed entry in one
    /// `TransactWriteItems`, each conditioned on the snapshot: the message on not existing, or
    /// on its `timestamp` and `readUpdatedAt` as read (every write to a message changes one of
    /// them); the summary on not existing, or on its `version` as read (every write to the
    /// order raises it); the feed entry on its slot being empty.
    ///
    /// The slot's number is allocated here, after the snapshot was read, and that is what
    /// keeps one message's events (and one order's) in the order they were stored: when a
    /// change B of a message commits after a change A of it, B's conditions held on a
    /// snapshot that already showed A (a snapshot from before A would fail them, since A
    /// changed the message and raised the summary's version), so B read its snapshot after A
    /// committed, and allocated after that; A allocated before it committed. Hence A's number
    /// is lower than B's.
    ///
    /// When the transaction is cancelled (a lost race, or a reader closed the slot with a
    /// tombstone because this write was slow), nothing was written: the slot is tombstoned
    /// here at once (best effort) so that readers need not wait for it, and the caller reads
    /// again and allocates again. When the outcome is unknown (no answer), the slot is left
    /// alone: readers wait for it and close it if it stays empty.
    ///
    /// Each commit carries a token of its own (`ClientRequestToken`), so when the client
    /// retries it after losing an answer, DynamoDB does not apply it twice but answers success
    /// again, rather than failing the conditions on the commit's own write.
    /// - Throws: ``DynamoDB/DynamoDBError`` with ``DynamoDB/DynamoDBError/isConditionalCheckFailure``
    ///   when another writer changed either since the snapshot, or the slot was closed.
    func commit(_ write: MessageWrite, as kind: FeedEventKind, over snapshot: Snapshot) async throws {
        let summary = try await summary(after: write.message, over: snapshot)
        let summaryItem = OrderSummaryItem.item(for: summary, version: (snapshot.summary?.version ?? 0) + 1)
        let sequence = try await FeedSequenceCounter.allocate(in: configuration.tableName, client: client)
        // The entry copies the message without its archived files, as SQLite's feed does:
        // they are the archiver's, not part of the change.
        let entry = FeedEntryItem.item(
            sequence: sequence, kind: kind, message: write.message.withoutArchives, eventTime: Self.nowMilliseconds(),
            retention: configuration.feedRetention
        )
        do {
            try await client.transactWriteItems(
                TransactWriteItemsInput(
                    transactItems: [messageWrite(write, over: snapshot.message), summaryWrite(summaryItem, over: snapshot.summary), feedEntryWrite(entry)],
                    clientRequestToken: UUID().uuidString
                )
            )
        } catch let error as DynamoDBError where error.isTransactionCanceled {
            await closeAbandonedSlot(sequence)
            throw error
        }
    }

    /// The transaction's write of the feed entry, into an empty slot only.
    private func feedEntryWrite(_ entry: Item) -> TransactWriteItem {
        .put(TransactPut(
            tableName: configuration.tableName, item: entry, conditionExpression: "attribute_not_exists(#pk)",
            expressionAttributeNames: ["#pk": FeedEntryItem.Attribute.partitionKey.rawValue]
        ))
    }

    /// How long a writer spends closing its own abandoned slot before it reads again: the
    /// tombstone only spares readers a wait, so a DynamoDB that does not answer must not hold
    /// up the write's retry.
    static let abandonedSlotBudget: Duration = .milliseconds(500)

    /// Tombstones a slot whose transaction was cancelled, so that no reader waits for it;
    /// failures are only logged (a reader closes the slot after its gap timeout anyway).
    private func closeAbandonedSlot(_ sequence: Int64) async {
        do {
            try await Deadline.after(Self.abandonedSlotBudget).run { _ = try await writeTombstone(sequence) }
        } catch {
            logger.debug(
                "Could not tombstone an abandoned feed slot",
                metadata: ["table": .string(configuration.tableName), "sequence": .stringConvertible(sequence), "error": .string("\(error)")]
            )
        }
    }

    /// The order's summary once `written` is stored. An order without a summary item (new,
    /// or written only by a release that kept none) is summarized from its other messages,
    /// read from its partition: any writer of this release that changes them meanwhile
    /// creates the summary item too, and so makes this write's condition fail. Once the table
    /// says every order has its summary (``SummariesMarker``), an order without one is new,
    /// and its partition is not read.
    private func summary(after written: StoredMessage, over snapshot: Snapshot) async throws -> OrderSummary {
        if let stored = snapshot.summary { return stored.summary.after(writing: written, replacing: snapshot.message) }
        if snapshot.message == nil, try await summariesAreCompleteInTable() { return OrderSummary(first: written) }
        let others = try await client.queryAll(orderQuery(snapshot.key.orderID, type: nil)).map(Self.message(from:)).filter {
            !$0.sortKey.hasSameUTF8(as: snapshot.key.sortKey)
        }
        return OrderSummary.of(others)?.after(writing: written, replacing: nil) ?? OrderSummary(first: written)
    }

    /// The condition that a message item is still as `stored` was read: its `timestamp` and
    /// `readUpdatedAt` (every write to a message changes one of them); or that there is none.
    static func unchangedCondition(since stored: StoredMessage?) -> (condition: String, names: [String: String], values: Item) {
        guard let stored else { return ("attribute_not_exists(#pk)", ["#pk": StoredMessage.Attribute.partitionKey.rawValue], [:]) }
        let names = [
            "#timestamp": StoredMessage.Attribute.timestamp.rawValue, "#readUpdatedAt": StoredMessage.Attribute.readUpdatedAt.rawValue,
        ]
        var values: Item = [":storedTimestamp": .integer(stored.timestamp)]
        var condition = "#timestamp = :storedTimestamp AND "
        if let readUpdatedAt = stored.readUpdatedAt {
            values[":storedReadUpdatedAt"] = .integer(readUpdatedAt)
            condition += "#readUpdatedAt = :storedReadUpdatedAt"
        } else {
            condition += "attribute_not_exists(#readUpdatedAt)"
        }
        return (condition, names, values)
    }

    /// The transaction's write of the message item, conditioned on `stored`.
    private func messageWrite(_ write: MessageWrite, over stored: StoredMessage?) -> TransactWriteItem {
        var (condition, names, values) = Self.unchangedCondition(since: stored)
        switch write {
        case .put(let message):
            return .put(TransactPut(
                tableName: configuration.tableName, item: Self.item(for: message), conditionExpression: condition,
                expressionAttributeNames: names, expressionAttributeValues: values.isEmpty ? nil : values
            ))
        case .setRead(let message):
            names["#read"] = StoredMessage.Attribute.read.rawValue
            names["#readUpdatedAt"] = StoredMessage.Attribute.readUpdatedAt.rawValue
            values[":read"] = .bool(message.read)
            values[":readUpdatedAt"] = .integer(message.readUpdatedAt ?? message.timestamp)
            return .update(TransactUpdate(
                tableName: configuration.tableName, key: Self.messageKey(message.key), updateExpression: "SET #read = :read, #readUpdatedAt = :readUpdatedAt",
                conditionExpression: condition, expressionAttributeNames: names, expressionAttributeValues: values
            ))
        }
    }

    /// The transaction's write of the summary item, conditioned on the version read.
    private func summaryWrite(_ item: Item, over stored: VersionedSummary?) -> TransactWriteItem {
        guard let stored else {
            return .put(TransactPut(
                tableName: configuration.tableName, item: item, conditionExpression: "attribute_not_exists(#pk)",
                expressionAttributeNames: ["#pk": OrderSummaryItem.Attribute.partitionKey.rawValue]
            ))
        }
        return .put(TransactPut(
            tableName: configuration.tableName, item: item, conditionExpression: "#version = :readVersion",
            expressionAttributeNames: ["#version": OrderSummaryItem.Attribute.version.rawValue],
            expressionAttributeValues: [":readVersion": .integer(stored.version)]
        ))
    }

    /// Runs `attempt` (read, decide, write) again while it loses races, at most
    /// ``writeAttempts`` times, pausing ``pause(afterLostRace:)`` between tries. Runs inside
    /// the operation's deadline, which bounds it too.
    /// - Throws: ``MessageStore/MessageStoreError/unavailable(_:)`` when every attempt lost.
    func retryingLostRaces<T>(_ operation: String, _ attempt: () async throws -> T) async throws -> T {
        for attemptNumber in 1...Self.writeAttempts {
            do {
                return try await attempt()
            } catch let error as DynamoDBError where error.isConditionalCheckFailure {
                logger.debug(
                    "Lost a write race; reading again",
                    metadata: ["operation": .string(operation), "attempt": .stringConvertible(attemptNumber), "table": .string(configuration.tableName)]
                )
                if attemptNumber < Self.writeAttempts {
                    try await Task.sleep(for: Self.pause(afterLostRace: attemptNumber))
                }
            }
        }
        throw MessageStoreError.unavailable("\(operation) lost \(Self.writeAttempts) write races in a row on a contended order")
    }

    /// A message item's table key.
    static func messageKey(_ key: MessageKey) -> Item {
        messageKey(partitionKey: key.partitionKey, sortKey: key.sortKey)
    }
}

extension DynamoDBMessageStore {
    /// Whether the table carries the ``SummariesMarker``, read until it is seen once.
    func summariesAreCompleteInTable() async throws -> Bool {
        if summariesAreComplete.load(ordering: .relaxed) { return true }
        guard try await SummariesMarker.isPresent(in: configuration.tableName, client: client) else { return false }
        summariesAreComplete.store(true, ordering: .relaxed)
        return true
    }
}
