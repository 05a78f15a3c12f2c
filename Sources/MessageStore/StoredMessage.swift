/// A message as it is stored and served back: the spec's item, attribute for attribute.
///
/// Both stores keep this shape (DynamoDB as an item, SQLite as a row with the same column
/// names), and it encodes to the spec's JSON with the spec's attribute names in the spec's
/// order, so a `GET` answers the same bytes whichever store is behind it.
public struct StoredMessage: Sendable, Hashable {
    /// Qualia's order identifier, such as `QO-123456`.
    public var orderID: String
    /// Qualia's message identifier, unique within an order and type.
    public var messageID: String
    /// Whether the message was received or sent.
    public var messageType: MessageType
    /// Name of the message's sender.
    public var fromName: String
    /// The message body, exactly as sent (it may be empty).
    public var text: String
    /// When the message was created, the ISO 8601 text exactly as Qualia sent it.
    public var createdDate: String
    /// Whether the message has been read.
    public var read: Bool
    /// The delivery's `timestamp`, as Unix time in milliseconds.
    public var timestamp: Int64
    /// When this service stored the message, ISO 8601 in UTC (`2025-10-28T10:30:05Z`).
    public var storedAt: String
    /// Qualia's human-facing order number, when sent.
    public var orderNumber: String?
    /// The message's attachments, when sent.
    public var attachments: [Attachment]?
    /// The conversation thread the message belongs to, when Qualia names one; otherwise it is
    /// in the order's main thread (see ``conversationThreadID``).
    public var threadID: String?
    /// The message this one answers, when Qualia names one.
    public var inReplyTo: String?
    /// When a reader last set `read` (Unix milliseconds, server time), or `nil` when `read`
    /// is still what a delivery said. See ``ReadStatement``.
    public var readUpdatedAt: Int64?

    /// Creates a stored message.
    public init(
        orderID: String,
        messageID: String,
        messageType: MessageType,
        fromName: String,
        text: String,
        createdDate: String,
        read: Bool,
        timestamp: Int64,
        storedAt: String,
        orderNumber: String? = nil,
        attachments: [Attachment]? = nil,
        threadID: String? = nil,
        inReplyTo: String? = nil,
        readUpdatedAt: Int64? = nil
    ) {
        self.orderID = orderID
        self.messageID = messageID
        self.messageType = messageType
        self.fromName = fromName
        self.text = text
        self.createdDate = createdDate
        self.read = read
        self.timestamp = timestamp
        self.storedAt = storedAt
        self.orderNumber = orderNumber
        self.attachments = attachments
        self.threadID = threadID
        self.inReplyTo = inReplyTo
        self.readUpdatedAt = readUpdatedAt
    }

    /// The partition key: `MESSAGE#{order_id}`.
    public var partitionKey: String { Self.partitionKey(orderID: orderID) }

    /// The sort key: `{message_type}#{message_id}`.
    public var sortKey: String { Self.sortKeyPrefix(for: messageType) + messageID }

    /// The thread the message is in: its ``threadID``, or the order's main thread, whose id
    /// is the order id.
    public var conversationThreadID: String { threadID ?? orderID }

    /// Whether this delivery carries the same message as the `stored` version, byte for byte,
    /// whenever each was stored: `storedAt` is not compared, nor `read` once a reader has set
    /// it (a reader's statement is not part of what Qualia sent), nor archived files.
    public func hasSameContent(as stored: StoredMessage) -> Bool {
        var stored = stored.withoutArchives
        stored.storedAt = storedAt
        if stored.readUpdatedAt != nil {
            stored.read = read
            stored.readUpdatedAt = readUpdatedAt
        }
        return self == stored
    }

    /// Equal when every field holds the same bytes: text that differs only in Unicode
    /// normalization is a different message (see ``Swift/String/hasSameUTF8(as:)``).
    public static func == (lhs: StoredMessage, rhs: StoredMessage) -> Bool {
        lhs.orderID.hasSameUTF8(as: rhs.orderID) && lhs.messageID.hasSameUTF8(as: rhs.messageID)
            && lhs.messageType == rhs.messageType && lhs.fromName.hasSameUTF8(as: rhs.fromName)
            && lhs.text.hasSameUTF8(as: rhs.text) && lhs.createdDate.hasSameUTF8(as: rhs.createdDate) && lhs.read == rhs.read
            && lhs.timestamp == rhs.timestamp && lhs.storedAt.hasSameUTF8(as: rhs.storedAt)
            && lhs.orderNumber.hasSameUTF8(as: rhs.orderNumber) && lhs.attachments == rhs.attachments
            && lhs.threadID.hasSameUTF8(as: rhs.threadID) && lhs.inReplyTo.hasSameUTF8(as: rhs.inReplyTo)
            && lhs.readUpdatedAt == rhs.readUpdatedAt
    }

    /// Hashes the fields that identify a message; consistent with ``==`` because equal bytes
    /// are always equal strings.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(orderID)
        hasher.combine(messageType)
        hasher.combine(messageID)
        hasher.combine(timestamp)
    }

    /// The partition key that holds every message of one order.
    public static func partitionKey(orderID: String) -> String { partitionKeyPrefix + orderID }

    /// What every partition key of a message starts with.
    public static let partitionKeyPrefix = "MESSAGE#"

    /// The prefix shared by the sort keys of every message of one type.
    public static func sortKeyPrefix(for type: MessageType) -> String {
        switch type {
        case .received: receivedSortKeyPrefix
        case .sent: sentSortKeyPrefix
        }
    }

    // Made once: a page of a hundred items asks for them a hundred times.
    private static let receivedSortKeyPrefix = MessageType.received.rawValue + "#"
    private static let sentSortKeyPrefix = MessageType.sent.rawValue + "#"
}

extension StoredMessage {
    /// The spec's stored attribute names, in the spec's order: the one spelling of them that
    /// the JSON answers, the DynamoDB items and the SQLite columns all use. A new attribute is
    /// a case here plus one line per store.
    public enum Attribute: String, CaseIterable, Sendable {
        case partitionKey = "PK"
        case sortKey = "SK"
        case orderID = "orderId"
        case messageID = "messageId"
        case messageType
        case fromName
        case text
        case createdDate
        case read
        case timestamp
        case storedAt
        case orderNumber
        case attachments
        case threadID = "threadId"
        case inReplyTo
        case readUpdatedAt
    }
}

extension StoredMessage.Attribute {
    /// The attribute's place in the spec's order, from 0 (`PK`).
    public var position: Int { Self.allCases.firstIndex(of: self)! }
}
