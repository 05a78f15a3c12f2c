// What readers ask a store for besides whole orders: pages, one message, the orders list,
// conversations and threads. Positions are exclusive: a page continues after its position.

/// One page of a keyset-paginated read: at most the asked number of items, and where the
/// next page starts, or `nil` when this is the last one.
public struct Page<Item: Sendable, Position: Sendable & Hashable>: Sendable {
    /// The page's items, in the read's order.
    public var items: [Item]
    /// The position of the last item when more may follow; `nil` on the last page.
    public var next: Position?

    /// Creates a page.
    public init(items: [Item], next: Position?) {
        self.items = items
        self.next = next
    }
}

/// One message's key: its order, type and id (`PK` and `SK`).
public struct MessageKey: Sendable, Hashable {
    /// Qualia's order identifier.
    public var orderID: String
    /// Received or sent.
    public var messageType: MessageType
    /// Qualia's message identifier.
    public var messageID: String

    /// Creates a key.
    public init(orderID: String, messageType: MessageType, messageID: String) {
        self.orderID = orderID
        self.messageType = messageType
        self.messageID = messageID
    }

    /// The partition key, `MESSAGE#{order_id}`.
    public var partitionKey: String { StoredMessage.partitionKey(orderID: orderID) }
    /// The sort key, `{message_type}#{message_id}`.
    public var sortKey: String { StoredMessage.sortKeyPrefix(for: messageType) + messageID }
}

extension StoredMessage {
    /// The message's key.
    public var key: MessageKey { MessageKey(orderID: orderID, messageType: messageType, messageID: messageID) }
}

/// A place in an order's conversation, which runs oldest first by payload `timestamp`, ties
/// broken by `SK` (byte order).
public struct ConversationPosition: Sendable, Hashable, Comparable {
    /// The payload `timestamp`, Unix milliseconds.
    public var timestamp: Int64
    /// The sort key, `{message_type}#{message_id}`.
    public var sortKey: String

    /// Creates a position.
    public init(timestamp: Int64, sortKey: String) {
        self.timestamp = timestamp
        self.sortKey = sortKey
    }

    /// A message's place in its conversation.
    public init(of message: StoredMessage) {
        self.init(timestamp: message.timestamp, sortKey: message.sortKey)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.timestamp != rhs.timestamp ? lhs.timestamp < rhs.timestamp : lhs.sortKey.utf8.lexicographicallyPrecedes(rhs.sortKey.utf8)
    }
}

/// A place in the orders list, which runs by most recent activity first (the newest
/// message's `timestamp`, descending), ties broken by order id (byte order, ascending).
public struct OrderPosition: Sendable, Hashable {
    /// The order's ``OrderSummary/lastMessageAt``.
    public var lastMessageAt: Int64
    /// The order id.
    public var orderID: String

    /// Creates a position.
    public init(lastMessageAt: Int64, orderID: String) {
        self.lastMessageAt = lastMessageAt
        self.orderID = orderID
    }

    /// An order's place in the list.
    public init(of order: OrderSummary) {
        self.init(lastMessageAt: order.lastMessageAt, orderID: order.orderID)
    }

    /// Whether `self` comes before `other` in the list.
    public func precedes(_ other: Self) -> Bool {
        lastMessageAt != other.lastMessageAt
            ? lastMessageAt > other.lastMessageAt : orderID.utf8.lexicographicallyPrecedes(other.orderID.utf8)
    }
}

/// What a reader sees of a message in a list of orders.
public struct MessagePreview: Sendable, Hashable {
    /// The most characters of `text` a preview keeps.
    public static let textCharacters = 200

    /// Received or sent.
    public var messageType: MessageType
    /// Qualia's message identifier.
    public var messageID: String
    /// The sender's name.
    public var fromName: String
    /// The first ``textCharacters`` characters of the message's text.
    public var text: String

    /// Creates a preview.
    public init(messageType: MessageType, messageID: String, fromName: String, text: String) {
        self.messageType = messageType
        self.messageID = messageID
        self.fromName = fromName
        self.text = text
    }

    /// The preview of a message.
    public init(of message: StoredMessage) {
        self.init(
            messageType: message.messageType, messageID: message.messageID, fromName: message.fromName,
            text: String(message.text.prefix(Self.textCharacters))
        )
    }
}

/// One order in the orders list. The counts are exact: each store keeps them in the same
/// atomic step as the writes that change them.
///
/// The order's last message is the one with the greatest `timestamp`, ties broken by the
/// greatest `SK`. Its `orderNumber` is the last message's when it has one, and otherwise
/// the one kept before.
public struct OrderSummary: Sendable, Hashable {
    /// Qualia's order identifier.
    public var orderID: String
    /// Qualia's human-facing order number, when any message carried one.
    public var orderNumber: String?
    /// How many messages the order holds.
    public var messageCount: Int
    /// How many of them have `read` false.
    public var unreadCount: Int
    /// The last message's `timestamp`, Unix milliseconds: the order's most recent activity.
    public var lastMessageAt: Int64
    /// The last message.
    public var lastMessage: MessagePreview

    /// Creates a summary.
    public init(orderID: String, orderNumber: String?, messageCount: Int, unreadCount: Int, lastMessageAt: Int64, lastMessage: MessagePreview) {
        self.orderID = orderID
        self.orderNumber = orderNumber
        self.messageCount = messageCount
        self.unreadCount = unreadCount
        self.lastMessageAt = lastMessageAt
        self.lastMessage = lastMessage
    }
}

/// One thread of an order's conversation.
public struct ThreadSummary: Sendable, Hashable {
    /// The thread's id: a message's `threadId`, or the order id for the main thread.
    public var threadID: String
    /// How many messages the thread holds.
    public var messageCount: Int
    /// How many of them have `read` false.
    public var unreadCount: Int
    /// The oldest message's `timestamp`, Unix milliseconds.
    public var firstMessageAt: Int64
    /// The newest message's `timestamp`, Unix milliseconds.
    public var lastMessageAt: Int64

    /// Creates a summary.
    public init(threadID: String, messageCount: Int, unreadCount: Int, firstMessageAt: Int64, lastMessageAt: Int64) {
        self.threadID = threadID
        self.messageCount = messageCount
        self.unreadCount = unreadCount
        self.firstMessageAt = firstMessageAt
        self.lastMessageAt = lastMessageAt
    }

    /// The threads of `messages`, in order of their first message (then thread id).
    public static func summarize(_ messages: some Sequence<StoredMessage>) -> [ThreadSummary] {
        // Keyed by bytes: thread ids that differ only in Unicode normalization are two threads.
        var threads: [[UInt8]: ThreadSummary] = [:]
        for message in messages {
            let id = message.conversationThreadID
            var thread = threads[Array(id.utf8)] ?? ThreadSummary(
                threadID: id, messageCount: 0, unreadCount: 0, firstMessageAt: message.timestamp, lastMessageAt: message.timestamp
            )
            thread.messageCount += 1
            if !message.read { thread.unreadCount += 1 }
            thread.firstMessageAt = min(thread.firstMessageAt, message.timestamp)
            thread.lastMessageAt = max(thread.lastMessageAt, message.timestamp)
            threads[Array(id.utf8)] = thread
        }
        return threads.values.sorted {
            $0.firstMessageAt != $1.firstMessageAt ? $0.firstMessageAt < $1.firstMessageAt : $0.threadID.utf8.lexicographicallyPrecedes($1.threadID.utf8)
        }
    }
}
