import DynamoDB
import MessageStore

/// One numbered slot of the change feed as an item of the table (see docs/dynamodb-feed.md):
/// `PK = FEED#{sequence / 1000}` (a bucket of a thousand slots, decimal), `SK` = the sequence
/// zero-padded to 19 digits, so that a bucket's slots sort by sequence and a range of them is
/// one strongly consistent `Query`.
///
/// A slot holds either an event (its `kind`, `orderId` and `message`: exactly the message item
/// the store wrote, so an entry stays under DynamoDB's 400 KB as that item does) or a
/// tombstone (`tombstone = true`, no message), which says that no event will ever take the
/// slot. Both carry `eventTime` (Unix ms, the writer's clock) and `expiresAt`, the table's TTL
/// attribute (Unix seconds: `eventTime` + retention + ``FeedRetention/dropMarginMilliseconds``).
/// Every slot is written once, conditioned on `attribute_not_exists(PK)`, and never changed:
/// a slot that is there is final.
enum FeedEntryItem {
    /// The feed entries' attribute names: the one spelling of them.
    enum Attribute: String, CaseIterable {
        case partitionKey = "PK"
        case sortKey = "SK"
        case sequence
        case kind
        case eventTime
        case expiresAt
        case orderID = "orderId"
        case message
        case tombstone
    }

    /// How many slots one bucket partition holds.
    static let bucketSize: Int64 = 1000
    /// The prefix of every bucket's partition key.
    static let partitionPrefix = "FEED#"

    /// The bucket that holds `sequence`.
    static func bucket(of sequence: Int64) -> Int64 { sequence / bucketSize }

    /// A bucket's partition key.
    static func partitionKey(bucket: Int64) -> String { partitionPrefix + String(bucket) }

    /// A slot's sort key: the sequence, zero-padded to 19 digits (every positive `Int64`).
    static func sortKey(_ sequence: Int64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 19 - digits.utf8.count)) + digits
    }

    /// A slot's table key.
    static func key(_ sequence: Int64) -> Item {
        var key: Item = [:]
        key[feed: .partitionKey] = .string(partitionKey(bucket: bucket(of: sequence)))
        key[feed: .sortKey] = .string(sortKey(sequence))
        return key
    }

    /// The TTL attribute's value for a slot written at `eventTime` (Unix ms): Unix seconds,
    /// after retention and its margin, so that DynamoDB never drops an event a reader may
    /// still be owed.
    static func expiresAt(eventTime: Int64, retention: FeedRetention) -> Int64 {
        (eventTime + retention.milliseconds + FeedRetention.dropMarginMilliseconds) / 1000
    }

    /// The item of an event in slot `sequence`.
    static func item(sequence: Int64, kind: FeedEventKind, message: StoredMessage, eventTime: Int64, retention: FeedRetention) -> Item {
        var item = key(sequence)
        item[feed: .sequence] = .integer(sequence)
        item[feed: .kind] = .string(kind.rawValue)
        item[feed: .eventTime] = .integer(eventTime)
        item[feed: .expiresAt] = .integer(expiresAt(eventTime: eventTime, retention: retention))
        item[feed: .orderID] = .string(message.orderID)
        item[feed: .message] = .map(DynamoDBMessageStore.item(for: message))
        return item
    }

    /// The item of a tombstone in slot `sequence`, written at `time` (Unix ms).
    static func tombstone(sequence: Int64, time: Int64, retention: FeedRetention) -> Item {
        var item = key(sequence)
        item[feed: .sequence] = .integer(sequence)
        item[feed: .tombstone] = .bool(true)
        item[feed: .eventTime] = .integer(time)
        item[feed: .expiresAt] = .integer(expiresAt(eventTime: time, retention: retention))
        return item
    }

    /// What a slot holds.
    enum Slot: Sendable {
        /// An event.
        case event(FeedEvent, orderID: String)
        /// A tombstone: no event will take the slot.
        case tombstone(FeedPosition)

        /// The slot's place in the feed.
        var position: FeedPosition {
            switch self {
            case .event(let event, _): event.position
            case .tombstone(let position): position
            }
        }
    }

    /// The slot an item holds.
    /// - Throws: ``MessageStoreError`` when the item is not a feed entry.
    static func slot(from item: Item) throws -> Slot {
        func integer(_ attribute: Attribute) throws -> Int64 {
            guard let value = item[feed: attribute]?.numberText.flatMap({ Int64($0) }) else {
                throw MessageStoreError.failed("feed entry attribute \(attribute.rawValue) is not a whole number")
            }
            return value
        }
        let position = FeedPosition(sequence: try integer(.sequence), time: try integer(.eventTime))
        if item[feed: .tombstone]?.boolValue == true { return .tombstone(position) }
        guard let kind = item[feed: .kind]?.stringValue.flatMap(FeedEventKind.init(rawValue:)) else {
            throw MessageStoreError.failed("feed entry attribute kind is not an event kind")
        }
        guard let messageItem = item[feed: .message]?.mapValue else { throw MessageStoreError.failed("feed entry attribute message is not a map") }
        let message = try DynamoDBMessageStore.message(from: messageItem)
        return .event(FeedEvent(position: position, kind: kind, message: message), orderID: message.orderID)
    }
}

extension Dictionary where Key == String, Value == AttributeValue {
    /// A feed entry's attribute, by the one spelling of its name (``FeedEntryItem/Attribute``).
    subscript(feed attribute: FeedEntryItem.Attribute) -> AttributeValue? {
        get { self[attribute.rawValue] }
        set { self[attribute.rawValue] = newValue }
    }
}
