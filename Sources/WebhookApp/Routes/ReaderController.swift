import Hummingbird
import JSON
import Logging
import MessageStore

/// The reader's routes over any ``MessageStore``: pages of an order, one message, its read
/// status, the orders list, conversations and threads. Reader and webhook credentials alike
/// may call them (``BasicAuthMiddleware`` runs first).
struct ReaderController: Sendable {
    let store: any MessageStore
    /// The largest request body accepted, in bytes.
    let maxBodyBytes: Int
    /// Rung after a read status is set, so that live subscribers get the change at once.
    let doorbell: FeedDoorbell

    /// How many conversation messages a page holds when `limit` is not given.
    static let defaultConversationLimit = 100
    /// How many messages or orders a page holds when only `cursor` is given.
    static let defaultPageLimit = 100

    func addRoutes(to group: RouterGroup<WebhookRequestContext>) {
        group.get("messages/{order_id}/{message_type}/{message_id}", use: message)
        group.patch("messages/{order_id}/{message_type}/{message_id}", use: setRead)
        group.get("orders", use: orders)
        group.get("orders/{order_id}/conversation", use: conversation)
        group.get("orders/{order_id}/threads", use: threads)
    }

    /// `GET /webhook/messages/{order_id}?limit=&cursor=[&message_type=]`: one page of an
    /// order's messages in `SK` order. ``MessageController`` hands over here when `limit` or
    /// `cursor` is given; without both, it answers the spec's whole listing.
    func page(orderID: String, type: MessageType?, query: ReaderQuery) async throws -> MessagePageResponse {
        var query = query
        let limit = query.limit(default: Self.defaultPageLimit) ?? Self.defaultPageLimit
        try query.requireValid()
        let after = try query.value("cursor").map {
            try ReaderCursor.read($0, listing: .messages, orderID: orderID, filter: type?.rawValue).messagesPosition(type: type)
        }
        let page = try await store.page(ofOrder: orderID, type: type, after: after, limit: limit)
        return MessagePageResponse(
            orderID: orderID, filter: ("message_type", type?.rawValue), messages: page.items,
            nextCursor: page.next.map { ReaderCursor.messages(orderID: orderID, type: type, after: $0).text }
        )
    }

    /// `GET /webhook/messages/{order_id}/{message_type}/{message_id}`: one message, or 404.
    @Sendable func message(request: Request, context: WebhookRequestContext) async throws -> SingleMessageResponse {
        var query = ReaderQuery(request, context: context)
        let key = try query.messageKey()
        try query.requireValid()
        guard let key, let message = try await store.message(key) else { throw WebhookError.messageNotFound }
        return SingleMessageResponse(message: message)
    }

    /// `PATCH /webhook/messages/{order_id}/{message_type}/{message_id}` with `{"read": true}`
    /// or `{"read": false}`: a reader's statement at the server's time (the newest statement
    /// wins; see ``ReadStatement``). Answers the message as stored afterwards, or 404.
    @Sendable func setRead(request: Request, context: WebhookRequestContext) async throws -> SingleMessageResponse {
        var query = ReaderQuery(request, context: context)
        let key = try query.messageKey()
        try query.requireValid()
        let read = try Self.readStatus(in: try await MessageController.readJSON(of: request, upTo: maxBodyBytes, context: context))
        guard let key, let message = try await store.setRead(read, of: key, at: UnixTime.nowMilliseconds()) else {
            throw WebhookError.messageNotFound
        }
        doorbell.ring()
        context.logger.info(
            "Read status set",
            metadata: [
                "order_id": .string(key.orderID), "message_id": .string(key.messageID), "message_type": .string(key.messageType.rawValue),
                "read": .stringConvertible(read), "stored_read": .stringConvertible(message.read),
            ]
        )
        return SingleMessageResponse(message: message)
    }

    /// The `read` of a read-status body, which must be exactly `{"read": true|false}`.
    static func readStatus(in json: JSONValue) throws -> Bool {
        guard case .object(let fields) = json else {
            throw WebhookError.validationFailed([FieldError(field: "body", message: "must be a JSON object")])
        }
        var problems: [FieldError] = []
        for name in fields.keys.sorted() where name != "read" {
            problems.append(FieldError(field: name, message: "is not a field of a read-status change (only \"read\" is)"))
        }
        var read: Bool?
        switch fields["read"] {
        case .bool(let value)?: read = value
        case nil: problems.append(FieldError(field: "read", message: "is required"))
        case let other?: problems.append(FieldError(field: "read", message: "must be true or false, not \(other.typeName)"))
        }
        guard problems.isEmpty, let read else { throw WebhookError.validationFailed(problems) }
        return read
    }

    /// `GET /webhook/orders?limit=&cursor=[&unread=true]`: the orders, most recent activity first.
    @Sendable func orders(request: Request, context: WebhookRequestContext) async throws -> OrdersResponse {
        var query = ReaderQuery(request, context: context)
        let limit = query.limit(default: Self.defaultPageLimit) ?? Self.defaultPageLimit
        let unreadOnly = query.flag("unread")
        try query.requireValid()
        let after = try query.value("cursor").map {
            try ReaderCursor.read($0, listing: .orders, orderID: nil, filter: unreadOnly ? "unread" : nil).ordersPosition()
        }
        let page = try await store.orders(after: after, limit: limit, unreadOnly: unreadOnly)
        return OrdersResponse(orders: page.items, nextCursor: page.next.map { ReaderCursor.orders(unreadOnly: unreadOnly, after: $0).text })
    }

    /// `GET /webhook/orders/{order_id}/conversation?limit=&cursor=[&thread_id=]`: received and
    /// sent messages together, oldest first by payload `timestamp`, ties by `SK`.
    @Sendable func conversation(request: Request, context: WebhookRequestContext) async throws -> MessagePageResponse {
        var query = ReaderQuery(request, context: context)
        let orderID = try query.orderID()
        let limit = query.limit(default: Self.defaultConversationLimit) ?? Self.defaultConversationLimit
        let threadID = query.identifier("thread_id")
        try query.requireValid()
        let after = try query.value("cursor").map {
            try ReaderCursor.read($0, listing: .conversation, orderID: orderID, filter: threadID).conversationPosition()
        }
        let page = try await store.conversation(ofOrder: orderID, thread: threadID, after: after, limit: limit)
        return MessagePageResponse(
            orderID: orderID, filter: ("thread_id", threadID), messages: page.items,
            nextCursor: page.next.map { ReaderCursor.conversation(orderID: orderID, threadID: threadID, after: $0).text }
        )
    }

    /// `GET /webhook/orders/{order_id}/threads`: each thread of the order with its counts.
    @Sendable func threads(request: Request, context: WebhookRequestContext) async throws -> ThreadsResponse {
        var query = ReaderQuery(request, context: context)
        let orderID = try query.orderID()
        try query.requireValid()
        return ThreadsResponse(orderID: orderID, threads: try await store.threads(ofOrder: orderID))
    }
}
