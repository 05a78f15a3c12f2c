import DynamoDB
import MessageStore

/// The archiver's job items and checkpoint item (issue 14), in partitions of their own that
/// no message query, orders-index read, feed read or migration scan visits (those read
/// `MESSAGE#…`, `ORDER#…`, the `ORDERS` index partition and `FEED#…`):
/// - a job: `PK = ARCHIVE#JOBS`, `SK` = its message's order id, message type, message id and
///   attachment id, each written as its length in UTF-8 bytes, `:`, and itself (ids may hold
///   `#`, so a separator alone would be ambiguous); with `orderId`, `messageType`,
///   `messageId`, `attachmentId`, `url` S, `createdAt`, `attempts`, `nextAttemptAt` N,
///   `lastError` S (when set) and the claim, `claimedBy` S and `claimedUntil` N (when held);
/// - the checkpoint: `PK = ARCHIVE#CHECKPOINT`, `SK = CHECKPOINT`, with `sequence` and `time` N.
///
/// Every job sits in one partition, so a claim is one strongly consistent Query of it; that
/// takes one partition's throughput (about 1,000 writes a second), far above what the
/// archiver's fetches need.
enum ArchiveJobItem {
    /// The items' attribute names: the one spelling of them.
    enum Attribute: String {
        case partitionKey = "PK"
        case sortKey = "SK"
        case orderID = "orderId"
        case messageType
        case messageID = "messageId"
        case attachmentID = "attachmentId"
        case url
        case createdAt
        case attempts
        case nextAttemptAt
        case lastError
        case claimedBy
        case claimedUntil
        case sequence
        case time
    }

    /// The jobs' partition.
    static let jobsPartition = "ARCHIVE#JOBS"

    /// A job item's sort key: each part length-prefixed, so that no two jobs share one.
    static func sortKey(of id: ArchiveJob.ID) -> String {
        [id.key.orderID, id.key.messageType.rawValue, id.key.messageID, id.attachmentID].map { "\($0.utf8.count):\($0)" }.joined()
    }

    /// A job item's table key.
    static func key(_ id: ArchiveJob.ID) -> Item {
        [Attribute.partitionKey.rawValue: .string(jobsPartition), Attribute.sortKey.rawValue: .string(sortKey(of: id))]
    }

    /// The checkpoint item's table key.
    static let checkpointKey: Item = [
        Attribute.partitionKey.rawValue: .string("ARCHIVE#CHECKPOINT"), Attribute.sortKey.rawValue: .string("CHECKPOINT"),
    ]

    /// A new job's item, unclaimed.
    static func item(for job: ArchiveJob) -> Item {
        var item = key(job.id)
        item[Attribute.orderID.rawValue] = .string(job.id.key.orderID)
        item[Attribute.messageType.rawValue] = .string(job.id.key.messageType.rawValue)
        item[Attribute.messageID.rawValue] = .string(job.id.key.messageID)
        item[Attribute.attachmentID.rawValue] = .string(job.id.attachmentID)
        item[Attribute.url.rawValue] = .string(job.url)
        item[Attribute.createdAt.rawValue] = .integer(job.createdAt)
        item[Attribute.attempts.rawValue] = .integer(job.attempts)
        item[Attribute.nextAttemptAt.rawValue] = .integer(job.nextAttemptAt)
        if let lastError = job.lastError { item[Attribute.lastError.rawValue] = .string(lastError) }
        return item
    }

    /// The job an item holds.
    /// - Throws: ``MessageStoreError`` when the item is not a job item.
    static func job(from item: Item) throws -> ArchiveJob {
        func string(_ attribute: Attribute) throws -> String {
            guard let value = item[attribute.rawValue]?.stringValue else {
                throw MessageStoreError.failed("archive job attribute \(attribute.rawValue) is not a string")
            }
            return value
        }
        func integer(_ attribute: Attribute) throws -> Int64 {
            guard let value = item[attribute.rawValue]?.numberText.flatMap({ Int64($0) }) else {
                throw MessageStoreError.failed("archive job attribute \(attribute.rawValue) is not a whole number")
            }
            return value
        }
        guard let type = MessageType(rawValue: try string(.messageType)) else {
            throw MessageStoreError.failed("archive job attribute messageType is not a message type")
        }
        let key = MessageKey(orderID: try string(.orderID), messageType: type, messageID: try string(.messageID))
        return ArchiveJob(
            id: ArchiveJob.ID(key: key, attachmentID: try string(.attachmentID)), url: try string(.url), createdAt: try integer(.createdAt),
            attempts: Int(try integer(.attempts)), nextAttemptAt: try integer(.nextAttemptAt), lastError: item[Attribute.lastError.rawValue]?.stringValue
        )
    }

    /// The checkpoint an item holds.
    static func checkpoint(from item: Item) throws -> FeedPosition {
        guard let sequence = item[Attribute.sequence.rawValue]?.numberText.flatMap({ Int64($0) }),
            let time = item[Attribute.time.rawValue]?.numberText.flatMap({ Int64($0) })
        else { throw MessageStoreError.failed("the archive checkpoint lacks its sequence or time") }
        return FeedPosition(sequence: sequence, time: time)
    }
}
