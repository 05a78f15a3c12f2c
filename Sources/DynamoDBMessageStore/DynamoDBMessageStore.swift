import AWSSigning
import DynamoDB
import Logging
import MessageStore
import Synchronization

/// The production store: one DynamoDB table shared by every instance, keyed by the spec's
/// `PK = MESSAGE#{order_id}` and `SK = {message_type}#{message_id}`.
///
/// Items carry the spec's attributes with the spec's types: strings as `S`, `read` as `BOOL`,
/// `timestamp` as `N`, `attachments` as `L` of `M`. Reads of messages are strongly
/// consistent, so a message acknowledged by any instance is listed by every instance straight
/// after.
///
/// Each order also has a summary item (``OrderSummaryItem``: `PK = ORDER#{order_id}`,
/// `SK = SUMMARY`), outside the `MESSAGE#` partitions so that the spec's `GET` and any other
/// reader of those partitions sees exactly the items it saw before; the global secondary
/// index `orders-by-activity` (``OrdersIndex``) lists the summaries by most recent activity.
/// Every write (``store(_:)``, ``setRead(_:of:at:)``) reads the message and its summary as
/// one snapshot (`TransactGetItems`), decides, and writes both in one `TransactWriteItems`
/// conditioned on that snapshot; when another instance wrote either meanwhile, it reads and
/// decides again, at most ``writeAttempts`` times. Correctness comes only from those
/// conditions, so instances racing on one table cannot undo each other or make counts drift.
///
/// Each write that changes a message also puts its change-feed entry in the same transaction,
/// in a slot numbered by one atomic counter (``FeedEntryItem``, ``FeedSequenceCounter``); the
/// feed is read back by number, strongly consistent, and a reader never passes a slot that a
/// write may still fill (``feed(after:orderID:limit:)``; docs/dynamodb-feed.md).
///
/// Each operation runs under one ``Deadline``, `operationTimeout` from its start: every
/// DynamoDB call it makes (each snapshot read and transaction of every attempt; every `Query`
/// page), every retry and backoff of those calls, and any credential fetch they need, share
/// it. When it passes, the operation throws ``MessageStoreError/unavailable(_:)``, as for any
/// outage; a transaction whose outcome is unknown is unavailable too, and redelivering it is
/// safe because the store decides between versions by their `timestamp`.
public final class DynamoDBMessageStore: MessageStore {
    /// How to reach the table.
    public struct Configuration: Sendable {
        /// The table's name (`DYNAMODB_TABLE`).
        public var tableName: String
        /// The most items asked for per Query page; `nil` lets DynamoDB fill its 1 MB pages.
        public var queryPageSize: Int?
        /// How long one operation may take in all, every DynamoDB call, retry and credential
        /// fetch included, before it is answered as unavailable. The README's outage bound.
        public var operationTimeout: Duration
        /// How long the change feed keeps events (`FEED_RETENTION_DAYS`): its entries carry a
        /// TTL attribute, and positions older than this are refused as expired.
        public var feedRetention: FeedRetention
        /// How long a reader of the change feed waits for a slot whose number was handed out
        /// but whose event is not there yet (a write in flight, or one abandoned by a crash)
        /// before it closes the slot with a tombstone, which makes that write, if it is still
        /// coming, fail and retry under a new number. A feed read may take this much longer
        /// than ``operationTimeout``.
        public var feedGapTimeout: Duration

        /// Five seconds: ``operationTimeout`` by default.
        public static let defaultOperationTimeout: Duration = .seconds(5)
        /// Three seconds: ``feedGapTimeout`` by default, well past a healthy write's commit.
        public static let defaultFeedGapTimeout: Duration = .seconds(3)

        /// Creates a configuration.
        public init(
            tableName: String, queryPageSize: Int? = nil, operationTimeout: Duration = defaultOperationTimeout,
            feedRetention: FeedRetention = .default, feedGapTimeout: Duration = defaultFeedGapTimeout
        ) {
            self.tableName = tableName
            self.feedRetention = feedRetention
            self.feedGapTimeout = feedGapTimeout
            self.queryPageSize = queryPageSize
            self.operationTimeout = operationTimeout
        }
    }

    let configuration: Configuration
    let client: DynamoDBClient
    let logger: Logger
    private let isShutDown = Atomic<Bool>(false)
    /// Whether the ``SummariesMarker`` was seen: it is never removed, so once seen it is not
    /// read again.
    let summariesAreComplete = Atomic<Bool>(false)

    /// Creates a store over a client, which the store owns and shuts down.
    public init(configuration: Configuration, client: DynamoDBClient, logger: Logger) {
        self.configuration = configuration
        self.client = client
        self.logger = logger
    }

    /// Decides and writes a delivery in one transaction with its order's summary (see
    /// ``commit(_:over:)``), reading again and deciding again when another writer got there
    /// first. A newer version keeps a reader's newer `read` and the archived files of the
    /// attachments it keeps at the same URL (``StoredMessage/keepingArchives(of:)``).
    public func store(_ message: StoredMessage) async throws -> StoreOutcome {
        try await mappingErrors {
            try await retryingLostRaces("store") {
                let snapshot = try await readSnapshot(message.key)
                let outcome = StoreOutcome.decide(storing: message, over: snapshot.message)
                guard outcome.wroteNewVersion else { return outcome }
                let written = snapshot.message.map { ReadStatement.merging(message, over: $0).keepingArchives(of: $0) } ?? message
                try await commit(.put(written), as: outcome == .created ? .created : .updated, over: snapshot)
                return outcome
            }
        }
    }

    public func messages(forOrder orderID: String, type: MessageType?) async throws -> [StoredMessage] {
        let input = orderQuery(orderID, type: type)
        let items = try await mappingErrors { try await client.queryAll(input) }
        return try items.map(Self.message(from:))
    }

    /// Streams an order's messages a Query page at a time, strongly consistent.
    ///
    /// An order that fits one page (1 MB, the common case) is read once and handed out as it
    /// is. A larger one must be counted before its first message is written, so after the
    /// first page a second query reads only the keys (`PK`, `SK`) of the rest; the count is
    /// the first page's items plus those keys. The listing then reads the rest page by page
    /// as the client takes it, and hands out only items whose key was counted: an item
    /// written since is left out, and if a counted one is missing (nothing in this service
    /// deletes, but a tool might), the listing fails rather than end short of its count.
    /// DynamoDB reads the whole items for the key query too (projection is applied after
    /// reading), so an order larger than a page costs about twice its read capacity.
    ///
    /// No version is kept: `knownVersion` is ignored and every call reads.
    public func listing(forOrder orderID: String, type: MessageType?, unlessUnchangedSince knownVersion: Int64?) async throws -> ListingRead {
        let input = orderQuery(orderID, type: type)
        let first = try await mappingErrors { try await client.query(input) }
        let firstMessages = try first.items.map(Self.message(from:))
        guard let rest = first.lastEvaluatedKey else {
            return .listing(MessageListing(count: firstMessages.count, version: nil, cursor: BufferedListingCursor(firstMessages)))
        }
        var keyQuery = input
        keyQuery.projectionExpression = "#pk, #sk"
        keyQuery.expressionAttributeNames?["#sk"] = StoredMessage.Attribute.sortKey.rawValue
        keyQuery.exclusiveStartKey = rest
        var keys: Set<String> = []
        repeat {
            let page = try await mappingErrors { try await client.query(keyQuery) }
            for item in page.items {
                guard let sortKey = item[.sortKey]?.stringValue else { throw MessageStoreError.failed("item attribute SK is not a string") }
                keys.insert(sortKey)
            }
            keyQuery.exclusiveStartKey = page.lastEvaluatedKey
        } while keyQuery.exclusiveStartKey != nil
        var restQuery = input
        restQuery.exclusiveStartKey = rest
        let cursor = DynamoDBListingCursor(firstChunk: firstMessages, rest: restQuery, counted: keys) { [self] query in
            try await mappingErrors { try await client.query(query) }
        }
        return .listing(MessageListing(count: firstMessages.count + keys.count, version: nil, cursor: cursor))
    }

    /// The strongly consistent Query of an order's messages, of one type or both.
    func orderQuery(_ orderID: String, type: MessageType?) -> QueryInput {
        var values: Item = [":pk": .string(StoredMessage.partitionKey(orderID: orderID))]
        var condition = "#pk = :pk"
        var names = ["#pk": StoredMessage.Attribute.partitionKey.rawValue]
        if let type {
            condition += " AND begins_with(#sk, :prefix)"
            names["#sk"] = StoredMessage.Attribute.sortKey.rawValue
            values[":prefix"] = .string(StoredMessage.sortKeyPrefix(for: type))
        }
        return QueryInput(
            tableName: configuration.tableName, keyConditionExpression: condition, expressionAttributeNames: names,
            expressionAttributeValues: values, limit: configuration.queryPageSize, consistentRead: true
        )
    }

    public func checkReadiness() async throws {
        try await mappingErrors {
            let table = try await client.describeTable(configuration.tableName)
            guard table.tableStatus == .active || table.tableStatus == .updating else {
                throw MessageStoreError.unavailable("table \(configuration.tableName) is \(table.tableStatus?.rawValue ?? "in an unknown state")")
            }
        }
    }

    public func shutdown() async throws {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try await client.shutdown()
    }

    // MARK: Items

    /// The spec's item for a message.
    public static func item(for message: StoredMessage) -> Item {
        var item: Item = [:]
        item[.partitionKey] = .string(message.partitionKey)
        item[.sortKey] = .string(message.sortKey)
        item[.orderID] = .string(message.orderID)
        item[.messageID] = .string(message.messageID)
        item[.messageType] = .string(message.messageType.rawValue)
        item[.fromName] = .string(message.fromName)
        item[.text] = .string(message.text)
        item[.createdDate] = .string(message.createdDate)
        item[.read] = .bool(message.read)
        item[.timestamp] = .integer(message.timestamp)
        item[.storedAt] = .string(message.storedAt)
        if let orderNumber = message.orderNumber { item[.orderNumber] = .string(orderNumber) }
        if let attachments = message.attachments {
            item[.attachments] = .list(attachments.map { attachment in
                var map: Item = [:]
                map[Attachment.Field.id.rawValue] = .string(attachment.id)
                map[Attachment.Field.name.rawValue] = .string(attachment.name)
                map[Attachment.Field.url.rawValue] = .string(attachment.url)
                if let tag = attachment.tag { map[Attachment.Field.tag.rawValue] = .string(tag) }
                return .map(map)
            })
        }
        if let threadID = message.threadID { item[.threadID] = .string(threadID) }
        if let inReplyTo = message.inReplyTo { item[.inReplyTo] = .string(inReplyTo) }
        if let readUpdatedAt = message.readUpdatedAt { item[.readUpdatedAt] = .integer(readUpdatedAt) }
        let records = message.archiveRecords
        if !records.isEmpty { item[archiveAttribute] = archiveValue(records) }
        return item
    }

    /// The message item's attribute that keeps its attachments' archived files (issue 14),
    /// beside the spec's `attachments`: `M` of attachment id to `M` {`url` S, `size` N,
    /// `sha256` S, `contentType` S, `archivedAt` N}. Absent when nothing is archived.
    public static let archiveAttribute = "attachmentArchive"

    /// The ``archiveAttribute`` value of archive records.
    static func archiveValue(_ records: [String: ArchivedFile]) -> AttributeValue {
        .map(records.mapValues { record in
            .map([
                ArchivedFile.Field.url.rawValue: .string(record.url), ArchivedFile.Field.size.rawValue: .integer(record.size),
                ArchivedFile.Field.sha256.rawValue: .string(record.sha256), ArchivedFile.Field.contentType.rawValue: .string(record.contentType),
                ArchivedFile.Field.archivedAt.rawValue: .integer(record.archivedAt),
            ])
        })
    }

    /// The archive records an item's ``archiveAttribute`` holds (none when it is absent).
    /// - Throws: ``MessageStoreError`` when it is not in that shape.
    static func archiveRecords(from item: Item) throws -> [String: ArchivedFile] {
        guard let value = item[archiveAttribute] else { return [:] }
        guard let entries = value.mapValue else { throw MessageStoreError.failed("item attribute \(archiveAttribute) is not a map") }
        return try entries.mapValues { entry in
            guard let fields = entry.mapValue, let url = fields[ArchivedFile.Field.url.rawValue]?.stringValue,
                let size = fields[ArchivedFile.Field.size.rawValue]?.numberText.flatMap({ Int64($0) }),
                let sha256 = fields[ArchivedFile.Field.sha256.rawValue]?.stringValue,
                let contentType = fields[ArchivedFile.Field.contentType.rawValue]?.stringValue,
                let archivedAt = fields[ArchivedFile.Field.archivedAt.rawValue]?.numberText.flatMap({ Int64($0) })
            else { throw MessageStoreError.failed("a record of item attribute \(archiveAttribute) lacks a field") }
            return ArchivedFile(url: url, size: size, sha256: sha256, contentType: contentType, archivedAt: archivedAt)
        }
    }

    /// The message an item holds, with its attachments' archived files
    /// (``archiveAttribute``; records of another URL than the attachment's are ignored).
    /// - Throws: ``MessageStoreError`` when the item is not in the spec's shape.
    public static func message(from item: Item) throws -> StoredMessage {
        func string(_ attribute: StoredMessage.Attribute) throws -> String {
            guard let value = item[attribute]?.stringValue else {
                throw MessageStoreError.failed("item attribute \(attribute.rawValue) is not a string")
            }
            return value
        }
        guard let type = MessageType(rawValue: try string(.messageType)) else {
            throw MessageStoreError.failed("item attribute messageType is not a message type")
        }
        guard let read = item[.read]?.boolValue else { throw MessageStoreError.failed("item attribute read is not a boolean") }
        guard let timestamp = item[.timestamp]?.numberText.flatMap({ Int64($0) }) else {
            throw MessageStoreError.failed("item attribute timestamp is not a whole number")
        }
        var attachments: [Attachment]?
        if let list = item[.attachments] {
            guard let elements = list.listValue else { throw MessageStoreError.failed("item attribute attachments is not a list") }
            attachments = try elements.map { element in
                guard let map = element.mapValue, let id = map[Attachment.Field.id.rawValue]?.stringValue,
                    let name = map[Attachment.Field.name.rawValue]?.stringValue, let url = map[Attachment.Field.url.rawValue]?.stringValue
                else { throw MessageStoreError.failed("an attachment is not a map of strings") }
                return Attachment(id: id, name: name, url: url, tag: map[Attachment.Field.tag.rawValue]?.stringValue)
            }
        }
        return StoredMessage(
            orderID: try string(.orderID), messageID: try string(.messageID), messageType: type, fromName: try string(.fromName),
            text: try string(.text), createdDate: try string(.createdDate), read: read, timestamp: timestamp,
            storedAt: try string(.storedAt), orderNumber: item[.orderNumber]?.stringValue, attachments: attachments,
            threadID: item[.threadID]?.stringValue, inReplyTo: item[.inReplyTo]?.stringValue,
            readUpdatedAt: try item[.readUpdatedAt].map { value in
                guard let time = value.numberText.flatMap({ Int64($0) }) else {
                    throw MessageStoreError.failed("item attribute readUpdatedAt is not a whole number")
                }
                return time
            }
        ).applyingArchiveRecords(try archiveRecords(from: item))
    }

    /// Runs one operation's DynamoDB calls under one deadline (`operationTimeout` from now, or
    /// the caller's when that is earlier), turning their failures into the store's: anything
    /// that may pass (throttling, 5xx, no connection, no credentials, no table yet, the
    /// deadline) is `unavailable`.
    /// - Parameter extra: time allowed beyond `operationTimeout` (a feed read's gap wait).
    func mappingErrors<T>(extra: Duration = .zero, _ body: () async throws -> T) async throws -> T {
        do {
            return try await Deadline.after(configuration.operationTimeout + extra).run(body)
        } catch let error as DynamoDBError {
            let passing = error.isRetryable || error.kind == .credentials || error.kind == .clientShutDown
                || error.code == DynamoDBError.Code.resourceNotFound
            throw MessageStoreError(passing ? .unavailable : .failed, reason: error.description)
        }
    }
}

extension Dictionary where Key == String, Value == AttributeValue {
    /// An item's attribute, by the one spelling of its name (``StoredMessage/Attribute``).
    subscript(attribute: StoredMessage.Attribute) -> AttributeValue? {
        get { self[attribute.rawValue] }
        set { self[attribute.rawValue] = newValue }
    }
}
