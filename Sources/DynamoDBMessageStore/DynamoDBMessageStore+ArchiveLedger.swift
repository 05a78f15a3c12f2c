import DynamoDB
import Foundation
import MessageStore

// The archiver's ledger on DynamoDB (issue 14): archived files recorded on their message
// items, and jobs and checkpoint in partitions of their own (``ArchiveJobItem``). Claims are
// conditional updates, so instances sharing the table never both hold one job.

extension DynamoDBMessageStore {
    /// Reads the message and its order's summary as one snapshot and, when the message still
    /// has the attachment at `file.url`, writes the whole records map on the message and
    /// raises the summary's `version` in one `TransactWriteItems`, conditioned on the snapshot
    /// as ``commit(_:as:over:)`` is; reads again when another writer got there first. Nothing
    /// else changes: no feed entry, and the summary keeps its counts and place in the list.
    public func recordArchive(_ file: ArchivedFile, attachmentID: String, of key: MessageKey) async throws -> Bool {
        try await mappingErrors {
            try await retryingLostRaces("recordArchive") {
                let snapshot = try await readSnapshot(key)
                guard let stored = snapshot.message,
                    let attachment = stored.attachments?.first(where: { $0.id.hasSameUTF8(as: attachmentID) && $0.url.hasSameUTF8(as: file.url) })
                else { return false }
                var records = stored.archiveRecords
                records[attachment.id] = file
                var (condition, names, values) = Self.unchangedCondition(since: stored)
                names["#archive"] = Self.archiveAttribute
                values[":archive"] = Self.archiveValue(records)
                let messageUpdate = TransactWriteItem.update(TransactUpdate(
                    tableName: configuration.tableName, key: Self.messageKey(key), updateExpression: "SET #archive = :archive",
                    conditionExpression: condition, expressionAttributeNames: names, expressionAttributeValues: values
                ))
                try await client.transactWriteItems(
                    TransactWriteItemsInput(
                        transactItems: [messageUpdate, summaryVersionBump(orderID: key.orderID, over: snapshot.summary)],
                        clientRequestToken: UUID().uuidString
                    )
                )
                return true
            }
        }
    }

    /// The transaction's raise of the order summary's `version`, conditioned on the version
    /// read; with no summary (an order of a table not yet backfilled), a check that there is
    /// still none.
    private func summaryVersionBump(orderID: String, over stored: VersionedSummary?) -> TransactWriteItem {
        let key = OrderSummaryItem.key(orderID: orderID)
        guard let stored else {
            return .conditionCheck(TransactConditionCheck(
                tableName: configuration.tableName, key: key, conditionExpression: "attribute_not_exists(#pk)",
                expressionAttributeNames: ["#pk": OrderSummaryItem.Attribute.partitionKey.rawValue]
            ))
        }
        return .update(TransactUpdate(
            tableName: configuration.tableName, key: key, updateExpression: "SET #version = :newVersion",
            conditionExpression: "#version = :readVersion", expressionAttributeNames: ["#version": OrderSummaryItem.Attribute.version.rawValue],
            expressionAttributeValues: [":readVersion": .integer(stored.version), ":newVersion": .integer(stored.version + 1)]
        ))
    }

    public func archiveCheckpoint() async throws -> FeedPosition? {
        let item = try await mappingErrors {
            try await client.getItem(GetItemInput(tableName: configuration.tableName, key: ArchiveJobItem.checkpointKey, consistentRead: true))
        }
        return try item.map(ArchiveJobItem.checkpoint(from:))
    }

    /// Puts each job unless its item exists (a job already waiting keeps its attempts and
    /// claim), then moves the checkpoint, conditioned on its moving forward. Each call runs
    /// under a deadline of its own, so a long batch is not cut short by one.
    public func enqueueArchiveJobs(_ jobs: [ArchiveJob], checkpoint position: FeedPosition) async throws {
        for job in jobs {
            try await mappingErrors {
                do {
                    _ = try await client.putItem(PutItemInput(
                        tableName: configuration.tableName, item: ArchiveJobItem.item(for: job), conditionExpression: "attribute_not_exists(#pk)",
                        expressionAttributeNames: ["#pk": ArchiveJobItem.Attribute.partitionKey.rawValue]
                    ))
                } catch let error as DynamoDBError where error.isConditionalCheckFailure {
                    // Already waiting.
                }
            }
        }
        try await mappingErrors {
            do {
                _ = try await client.updateItem(UpdateItemInput(
                    tableName: configuration.tableName, key: ArchiveJobItem.checkpointKey, updateExpression: "SET #sequence = :sequence, #time = :time",
                    conditionExpression: "attribute_not_exists(#sequence) OR #sequence < :sequence",
                    expressionAttributeNames: ["#sequence": ArchiveJobItem.Attribute.sequence.rawValue, "#time": ArchiveJobItem.Attribute.time.rawValue],
                    expressionAttributeValues: [":sequence": .integer(position.sequence), ":time": .integer(position.time)]
                ))
            } catch let error as DynamoDBError where error.isConditionalCheckFailure {
                // Already further.
            }
        }
    }

    /// Reads the jobs' partition (strongly consistent) for jobs due and unclaimed (or whose
    /// claim ended before `now`), earliest due first, and claims each with a conditional
    /// update; one whose condition fails was claimed (or finished) by another worker
    /// meanwhile, and is skipped.
    public func claimArchiveJobs(dueBy now: Int64, limit: Int, worker: String, claimUntil: Int64) async throws -> [ArchiveJob] {
        guard limit > 0 else { return [] }
        let claimable = "#nextAttemptAt <= :now AND (attribute_not_exists(#claimedUntil) OR #claimedUntil < :now)"
        let names = [
            "#pk": ArchiveJobItem.Attribute.partitionKey.rawValue, "#nextAttemptAt": ArchiveJobItem.Attribute.nextAttemptAt.rawValue,
            "#claimedUntil": ArchiveJobItem.Attribute.claimedUntil.rawValue,
        ]
        let query = QueryInput(
            tableName: configuration.tableName, keyConditionExpression: "#pk = :jobs", expressionAttributeNames: names,
            expressionAttributeValues: [":jobs": .string(ArchiveJobItem.jobsPartition), ":now": .integer(now)],
            limit: configuration.queryPageSize, consistentRead: true, filterExpression: claimable
        )
        let candidates = try await mappingErrors { try await client.queryAll(query) }
            .map(ArchiveJobItem.job(from:))
            .sorted { $0.nextAttemptAt < $1.nextAttemptAt }
        var claimed: [ArchiveJob] = []
        for candidate in candidates where claimed.count < limit {
            let item = try await mappingErrors { () -> Item? in
                do {
                    return try await client.updateItem(UpdateItemInput(
                        tableName: configuration.tableName, key: ArchiveJobItem.key(candidate.id),
                        updateExpression: "SET #claimedBy = :worker, #claimedUntil = :until", conditionExpression: "attribute_exists(#pk) AND " + claimable,
                        expressionAttributeNames: names.merging(["#claimedBy": ArchiveJobItem.Attribute.claimedBy.rawValue]) { $1 },
                        expressionAttributeValues: [":worker": .string(worker), ":until": .integer(claimUntil), ":now": .integer(now)],
                        returnValues: .allNew
                    )).attributes
                } catch let error as DynamoDBError where error.isConditionalCheckFailure {
                    return nil  // another worker has it
                }
            }
            if let item { claimed.append(try ArchiveJobItem.job(from: item)) }
        }
        return claimed
    }

    public func renewArchiveClaim(_ id: ArchiveJob.ID, worker: String, claimUntil: Int64) async throws -> Bool {
        try await mappingErrors {
            do {
                _ = try await client.updateItem(UpdateItemInput(
                    tableName: configuration.tableName, key: ArchiveJobItem.key(id), updateExpression: "SET #claimedUntil = :until",
                    conditionExpression: "#claimedBy = :worker",
                    expressionAttributeNames: [
                        "#claimedBy": ArchiveJobItem.Attribute.claimedBy.rawValue, "#claimedUntil": ArchiveJobItem.Attribute.claimedUntil.rawValue,
                    ],
                    expressionAttributeValues: [":worker": .string(worker), ":until": .integer(claimUntil)]
                ))
                return true
            } catch let error as DynamoDBError where error.isConditionalCheckFailure {
                return false
            }
        }
    }

    /// Conditioned on `worker` holding the claim: a worker that lost it changes nothing.
    public func rescheduleArchiveJob(_ job: ArchiveJob, worker: String) async throws {
        let names = [
            "#claimedBy": ArchiveJobItem.Attribute.claimedBy.rawValue, "#claimedUntil": ArchiveJobItem.Attribute.claimedUntil.rawValue,
            "#attempts": ArchiveJobItem.Attribute.attempts.rawValue, "#nextAttemptAt": ArchiveJobItem.Attribute.nextAttemptAt.rawValue,
            "#lastError": ArchiveJobItem.Attribute.lastError.rawValue,
        ]
        var values: Item = [":worker": .string(worker), ":attempts": .integer(job.attempts), ":next": .integer(job.nextAttemptAt)]
        var update = "SET #attempts = :attempts, #nextAttemptAt = :next"
        if let lastError = job.lastError {
            update += ", #lastError = :lastError"
            values[":lastError"] = .string(lastError)
            update += " REMOVE #claimedBy, #claimedUntil"
        } else {
            update += " REMOVE #claimedBy, #claimedUntil, #lastError"
        }
        try await mappingErrors {
            do {
                _ = try await client.updateItem(UpdateItemInput(
                    tableName: configuration.tableName, key: ArchiveJobItem.key(job.id), updateExpression: update,
                    conditionExpression: "#claimedBy = :worker", expressionAttributeNames: names, expressionAttributeValues: values
                ))
            } catch let error as DynamoDBError where error.isConditionalCheckFailure {
                // No longer this worker's: its new holder decides.
            }
        }
    }

    public func finishArchiveJob(_ id: ArchiveJob.ID) async throws {
        _ = try await mappingErrors {
            try await client.deleteItem(DeleteItemInput(tableName: configuration.tableName, key: ArchiveJobItem.key(id)))
        }
    }

    /// Reads the keys of the jobs' partition (strongly consistent).
    public func archiveJobCount() async throws -> Int {
        let query = QueryInput(
            tableName: configuration.tableName, keyConditionExpression: "#pk = :jobs",
            expressionAttributeNames: ["#pk": ArchiveJobItem.Attribute.partitionKey.rawValue],
            expressionAttributeValues: [":jobs": .string(ArchiveJobItem.jobsPartition)], limit: configuration.queryPageSize,
            consistentRead: true, projectionExpression: "#pk"
        )
        return try await mappingErrors { try await client.queryAll(query) }.count
    }
}
