import Foundation
import JSON
import MessageStore

/// A page cursor as clients see it: opaque text that names where the next page starts, and
/// what it is a cursor of (the listing, the order and the filter), so that it is refused
/// anywhere else.
///
/// It is base64url (no padding) of a small JSON object,
/// `{"v":1,"of":"messages","order":…,"filter":…,"after":[…]}`, whose `after` holds the
/// position as strings (numbers too, so that 64-bit values stay exact). A cursor carries no
/// secret and grants nothing: one edited to another well-formed position of the same listing
/// only starts the page there, which asking without a cursor could reach anyway. Anything
/// else (not base64url, not that JSON, another listing, order or filter, a position that is
/// not one of this listing's) is `400 invalid_cursor`.
struct ReaderCursor: Sendable, Equatable {
    /// Which listing a cursor belongs to.
    enum Listing: String, Sendable {
        case messages, orders, conversation, feed, search
    }

    var listing: Listing
    /// The order the listing is of, or `nil` for the orders list.
    var orderID: String?
    /// The listing's filter: the message type, `unread`, or the thread id; `nil` for none.
    var filter: String?
    /// The position, as strings.
    var after: [String]

    private static let version = 1

    /// The cursor's text.
    var text: String {
        var writer = JSONWriter()
        writer.object { object in
            object.field("v", Self.version)
            object.field("of", listing.rawValue)
            object.field("order", orderID)
            object.field("filter", filter)
            object.key("after")
            object.array(after) { list, part in list.string(part) }
        }
        // base64url without padding, byte by byte: Foundation's replacingOccurrences was 4% of
        // a page's time.
        let base64 = Data(writer.bytes).base64EncodedData()
        return String(decoding: base64.lazy.filter { $0 != UInt8(ascii: "=") }.map { byte in
            byte == UInt8(ascii: "+") ? UInt8(ascii: "-") : byte == UInt8(ascii: "/") ? UInt8(ascii: "_") : byte
        }, as: UTF8.self)
    }

    /// Reads a cursor and checks that it belongs to `listing` of `orderID` with `filter`.
    /// - Throws: ``WebhookError/invalidCursor`` otherwise.
    static func read(_ text: String, listing: Listing, orderID: String?, filter: String?) throws -> ReaderCursor {
        guard text.utf8.count <= 4096, let bytes = base64URLDecoded(text),
            case .object(let object)? = try? JSONValue.parse(bytes),
            case .number(let version)? = object["v"], version == Double(Self.version),
            object["of"]?.stringValue == listing.rawValue,
            sameOptionalText(object["order"], orderID), sameOptionalText(object["filter"], filter),
            case .array(let parts)? = object["after"]
        else { throw WebhookError.invalidCursor }
        let after = parts.compactMap(\.stringValue)
        guard after.count == parts.count, !after.isEmpty else { throw WebhookError.invalidCursor }
        return ReaderCursor(listing: listing, orderID: orderID, filter: filter, after: after)
    }

    /// Whether a cursor's field holds exactly `expected`'s bytes (or is `null` for `nil`).
    private static func sameOptionalText(_ value: JSONValue?, _ expected: String?) -> Bool {
        switch (value, expected) {
        case (.null?, nil): true
        case (.string(let text)?, let expected?): Array(text.utf8) == Array(expected.utf8)
        default: false
        }
    }

    private static func base64URLDecoded(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0)
            || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
        else { return nil }
        var base64 = text.utf8.map { byte in
            byte == UInt8(ascii: "-") ? UInt8(ascii: "+") : byte == UInt8(ascii: "_") ? UInt8(ascii: "/") : byte
        }
        base64 += repeatElement(UInt8(ascii: "="), count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: Data(base64)).map { Array($0) }
    }
}

// The positions each listing's cursor carries.
extension ReaderCursor {
    /// The cursor after `sortKey` in an order's messages (filtered by `type`).
    static func messages(orderID: String, type: MessageType?, after sortKey: String) -> ReaderCursor {
        ReaderCursor(listing: .messages, orderID: orderID, filter: type?.rawValue, after: [sortKey])
    }

    /// The sort key a messages cursor continues after; it must be one of the listing's keys.
    func messagesPosition(type: MessageType?) throws -> String {
        guard after.count == 1, let sortKey = after.first else { throw WebhookError.invalidCursor }
        let prefixes = type.map { [StoredMessage.sortKeyPrefix(for: $0)] } ?? MessageType.allCases.map(StoredMessage.sortKeyPrefix(for:))
        guard prefixes.contains(where: { sortKey.hasUTF8Prefix($0) && sortKey.utf8.count > $0.utf8.count }) else {
            throw WebhookError.invalidCursor
        }
        return sortKey
    }

    /// The cursor after `position` in the orders list (only unread orders when `unreadOnly`).
    static func orders(unreadOnly: Bool, after position: OrderPosition) -> ReaderCursor {
        ReaderCursor(listing: .orders, orderID: nil, filter: unreadOnly ? "unread" : nil, after: [String(position.lastMessageAt), position.orderID])
    }

    /// The place in the orders list an orders cursor continues after.
    func ordersPosition() throws -> OrderPosition {
        guard after.count == 2, let time = Int64(after[0]), !after[1].isEmpty else { throw WebhookError.invalidCursor }
        return OrderPosition(lastMessageAt: time, orderID: after[1])
    }

    /// The cursor after `position` in an order's conversation (of one thread, or all).
    static func conversation(orderID: String, threadID: String?, after position: ConversationPosition) -> ReaderCursor {
        ReaderCursor(listing: .conversation, orderID: orderID, filter: threadID, after: [String(position.timestamp), position.sortKey])
    }

    /// The place in a conversation a conversation cursor continues after.
    func conversationPosition() throws -> ConversationPosition {
        guard after.count == 2, let time = Int64(after[0]) else { throw WebhookError.invalidCursor }
        let sortKey = after[1]
        guard MessageType.allCases.contains(where: { sortKey.hasUTF8Prefix(StoredMessage.sortKeyPrefix(for: $0)) }) else {
            throw WebhookError.invalidCursor
        }
        return ConversationPosition(timestamp: time, sortKey: sortKey)
    }
}

extension ReaderCursor {
    /// The cursor after `position` in the change feed. It names no order: a position in the
    /// feed is one for every reader of it, filtered or not, paged or streamed.
    static func feed(after position: FeedPosition) -> ReaderCursor {
        ReaderCursor(listing: .feed, orderID: nil, filter: nil, after: [String(position.sequence), String(position.time)])
    }

    /// The place in the feed a feed cursor continues after.
    func feedPosition() throws -> FeedPosition {
        guard after.count == 2, let sequence = Int64(after[0]), sequence >= 0, let time = Int64(after[1]), time >= 0 else {
            throw WebhookError.invalidCursor
        }
        return FeedPosition(sequence: sequence, time: time)
    }
}

extension ReaderCursor {
    /// The cursor after `position` in search results (of one order and type, when filtered).
    /// It carries the store's resume hint when there is one.
    static func search(orderID: String?, type: MessageType?, after position: SearchPosition) -> ReaderCursor {
        var after = [position.storedAt, position.orderID, position.sortKey]
        if let hint = position.resumeHint { after.append(String(hint)) }
        return ReaderCursor(listing: .search, orderID: orderID, filter: type?.rawValue, after: after)
    }

    /// The place in search results a search cursor continues after.
    func searchPosition() throws -> SearchPosition {
        guard after.count == 3 || after.count == 4, SearchPosition.seconds(ofStoredAt: after[0]) != nil,
            MessageType.allCases.contains(where: { after[2].hasUTF8Prefix(StoredMessage.sortKeyPrefix(for: $0)) })
        else { throw WebhookError.invalidCursor }
        var hint: Int64?
        if after.count == 4 {
            guard let value = Int64(after[3]), value >= 0 else { throw WebhookError.invalidCursor }
            hint = value
        }
        return SearchPosition(storedAt: after[0], orderID: after[1], sortKey: after[2], resumeHint: hint)
    }
}
