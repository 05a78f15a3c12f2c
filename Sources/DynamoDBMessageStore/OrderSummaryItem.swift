import DynamoDB
import MessageStore

/// The item that keeps one order's ``OrderSummary``, beside (never inside) the spec's
/// `MESSAGE#` partitions: `PK = ORDER#{order_id}`, `SK = SUMMARY`.
///
/// Besides the summary it holds a `version`, raised by every write, which each write is
/// conditioned on, and the keys of the ``OrdersIndex`` (`ordersPK`, `ordersSK`), which make
/// it the one kind of item in that index.
enum OrderSummaryItem {
    /// The summary item's attribute names: the one spelling of them.
    enum Attribute: String, CaseIterable {
        case partitionKey = "PK"
        case sortKey = "SK"
        case orderID = "orderId"
        case orderNumber
        case messageCount
        case unreadCount
        case lastMessageAt
        case lastMessageType
        case lastMessageID = "lastMessageId"
        case lastMessageFromName
        case lastMessageText
        case version
        case ordersPartition = "ordersPK"
        case ordersSortKey = "ordersSK"
    }

    /// The prefix of every summary item's partition key.
    static let partitionPrefix = "ORDER#"
    /// Every summary item's sort key.
    static let sortKey = "SUMMARY"

    /// The summary item's table key for an order.
    static func key(orderID: String) -> Item {
        var key: Item = [:]
        key[summary: .partitionKey] = .string(partitionPrefix + orderID)
        key[summary: .sortKey] = .string(sortKey)
        return key
    }

    /// The item for a summary at `version`.
    static func item(for summary: OrderSummary, version: Int64) -> Item {
        var item = key(orderID: summary.orderID)
        item[summary: .orderID] = .string(summary.orderID)
        if let orderNumber = summary.orderNumber { item[summary: .orderNumber] = .string(orderNumber) }
        item[summary: .messageCount] = .integer(summary.messageCount)
        item[summary: .unreadCount] = .integer(summary.unreadCount)
        item[summary: .lastMessageAt] = .integer(summary.lastMessageAt)
        item[summary: .lastMessageType] = .string(summary.lastMessage.messageType.rawValue)
        item[summary: .lastMessageID] = .string(summary.lastMessage.messageID)
        item[summary: .lastMessageFromName] = .string(summary.lastMessage.fromName)
        item[summary: .lastMessageText] = .string(summary.lastMessage.text)
        item[summary: .version] = .integer(version)
        for (name, value) in OrdersIndex.key(of: OrderPosition(of: summary)) { item[name] = value }
        return item
    }

    /// The summary and version an item holds.
    /// - Throws: ``MessageStoreError`` when the item is not a summary item.
    static func record(from item: Item) throws -> VersionedSummary {
        func string(_ attribute: Attribute) throws -> String {
            guard let value = item[summary: attribute]?.stringValue else {
                throw MessageStoreError.failed("summary attribute \(attribute.rawValue) is not a string")
            }
            return value
        }
        func integer(_ attribute: Attribute) throws -> Int64 {
            guard let value = item[summary: attribute]?.numberText.flatMap({ Int64($0) }) else {
                throw MessageStoreError.failed("summary attribute \(attribute.rawValue) is not a whole number")
            }
            return value
        }
        guard let type = MessageType(rawValue: try string(.lastMessageType)) else {
            throw MessageStoreError.failed("summary attribute lastMessageType is not a message type")
        }
        let summary = OrderSummary(
            orderID: try string(.orderID), orderNumber: item[summary: .orderNumber]?.stringValue, messageCount: Int(try integer(.messageCount)),
            unreadCount: Int(try integer(.unreadCount)), lastMessageAt: try integer(.lastMessageAt),
            lastMessage: MessagePreview(
                messageType: type, messageID: try string(.lastMessageID), fromName: try string(.lastMessageFromName), text: try string(.lastMessageText)
            )
        )
        return VersionedSummary(summary: summary, version: try integer(.version))
    }
}

/// An order's summary as read, with the version that a write replacing it is conditioned on.
struct VersionedSummary: Sendable, Hashable {
    var summary: OrderSummary
    var version: Int64
}

/// The global secondary index that lists orders by most recent activity: `orders-by-activity`,
/// partition key `ordersPK` (always ``partition``), sort key `ordersSK`, projecting every
/// attribute. Only summary items carry its keys, so it holds nothing else.
///
/// `ordersSK` is the order's ``OrderPosition`` as text that sorts ascending in the list's
/// order: the last message's `timestamp` mapped to an unsigned number that falls as the
/// timestamp rises, in 20 zero-padded digits, then `#` and the order id, whose bytes break
/// ties ascending, as DynamoDB compares strings by their UTF-8 bytes.
enum OrdersIndex {
    /// The index's name.
    static let name = "orders-by-activity"
    /// The one partition value of the index.
    static let partition = "ORDERS"

    /// The index as `CreateTable` and `UpdateTable` declare it.
    static let definition = GlobalSecondaryIndex(
        indexName: name,
        keySchema: [
            .init(attributeName: OrderSummaryItem.Attribute.ordersPartition.rawValue, keyType: .hash),
            .init(attributeName: OrderSummaryItem.Attribute.ordersSortKey.rawValue, keyType: .range),
        ],
        projection: .init(projectionType: .all)
    )

    /// The types of the index's key attributes.
    static let attributeDefinitions: [AttributeDefinition] = [
        .init(attributeName: OrderSummaryItem.Attribute.ordersPartition.rawValue, attributeType: .string),
        .init(attributeName: OrderSummaryItem.Attribute.ordersSortKey.rawValue, attributeType: .string),
    ]

    /// The sort key of an order's place in the list.
    static func sortKey(of position: OrderPosition) -> String {
        // Flipping the sign bit maps Int64 onto UInt64 in the same order; subtracting from the
        // maximum reverses it, so newer activity sorts first.
        let descending = UInt64.max - (UInt64(bitPattern: position.lastMessageAt) ^ (1 << 63))
        let digits = String(descending)
        return String(repeating: "0", count: 20 - digits.count) + digits + "#" + position.orderID
    }

    /// The index's key attributes for an order's place in the list.
    static func key(of position: OrderPosition) -> Item {
        var key: Item = [:]
        key[summary: .ordersPartition] = .string(partition)
        key[summary: .ordersSortKey] = .string(sortKey(of: position))
        return key
    }

    /// The `ExclusiveStartKey` of a query that continues after `position`: the index's key
    /// and the table's key of that order's summary item.
    static func startKey(after position: OrderPosition) -> Item {
        key(of: position).merging(OrderSummaryItem.key(orderID: position.orderID)) { $1 }
    }
}

extension OrderSummary {
    /// The summary of an order whose only message is `message`.
    init(first message: StoredMessage) {
        self.init(
            orderID: message.orderID, orderNumber: message.orderNumber, messageCount: 1, unreadCount: message.read ? 0 : 1,
            lastMessageAt: message.timestamp, lastMessage: MessagePreview(of: message)
        )
    }

    /// The summary of an order's messages, or `nil` when there are none: each message
    /// counted in conversation order, so the last one and the `orderNumber` kept are those
    /// the rule gives (see ``OrderSummary``).
    static func of(_ messages: [StoredMessage]) -> OrderSummary? {
        let ordered = messages.sorted { ConversationPosition(of: $0) < ConversationPosition(of: $1) }
        guard let first = ordered.first else { return nil }
        return ordered.dropFirst().reduce(OrderSummary(first: first)) { $0.after(writing: $1, replacing: nil) }
    }

    /// The summary once `written` is stored, replacing `replaced` (its version as read), or as
    /// a message new to the order when `replaced` is `nil`.
    func after(writing written: StoredMessage, replacing replaced: StoredMessage?) -> OrderSummary {
        var summary = self
        if replaced == nil { summary.messageCount += 1 }
        summary.unreadCount += (written.read ? 0 : 1) - (replaced.map { $0.read ? 0 : 1 } ?? 0)
        let last = ConversationPosition(
            timestamp: lastMessageAt, sortKey: StoredMessage.sortKeyPrefix(for: lastMessage.messageType) + lastMessage.messageID
        )
        if !(ConversationPosition(of: written) < last) {
            summary.lastMessageAt = written.timestamp
            summary.lastMessage = MessagePreview(of: written)
            summary.orderNumber = written.orderNumber ?? orderNumber
        }
        return summary
    }
}

extension Dictionary where Key == String, Value == AttributeValue {
    /// A summary item's attribute, by the one spelling of its name.
    subscript(summary attribute: OrderSummaryItem.Attribute) -> AttributeValue? {
        get { self[attribute.rawValue] }
        set { self[attribute.rawValue] = newValue }
    }
}
