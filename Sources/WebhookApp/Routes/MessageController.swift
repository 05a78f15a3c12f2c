import Foundation
import Hummingbird
import JSON
import Logging
import MessageStore
import NIOCore
import NIOHTTP1

/// The spec's two webhook routes, over any ``MessageStore``.
struct MessageController: Sendable {
    let store: any MessageStore
    /// The largest request body accepted, in bytes.
    let maxBodyBytes: Int
    /// Listings kept while their order is unchanged.
    let listingCache: ListingCache

    func addRoutes(to group: RouterGroup<WebhookRequestContext>) {
        group.post("messages", use: receive)
        group.get("messages/{order_id}", use: list)
    }

    /// `POST /webhook/messages`: validates a message, stores it durably, then answers 200.
    @Sendable func receive(request: Request, context: WebhookRequestContext) async throws -> ReceiptResponse {
        let body = try await Self.readBody(of: request, upTo: maxBodyBytes, context: context)
        let json: JSONValue
        do {
            json = try JSONValue.parse(body.readableBytesView)
        } catch {
            throw WebhookError.invalidJSON
        }
        let payload = try WebhookPayload.validate(json).mapError { WebhookError.validationFailed($0.fields) }.get()

        let outcome = try await store.store(payload.storedMessage(storedAt: Self.nowMilliseconds()))

        let responseTime = context.elapsedMilliseconds
        context.logger.info(
            "Message stored",
            metadata: [
                "order_id": .string(payload.orderID),
                "message_id": .string(payload.messageID),
                "message_type": .string(payload.messageType.rawValue),
                "delivery": .string(outcome.rawValue),
                "response_time_ms": .stringConvertible(responseTime),
            ]
        )
        return ReceiptResponse(
            message: "Message received and stored successfully",
            orderID: payload.orderID,
            messageID: payload.messageID,
            messageType: payload.messageType.rawValue,
            requestID: context.id,
            responseTimeMilliseconds: responseTime,
            delivery: outcome.rawValue
        )
    }

    /// `GET /webhook/messages/{order_id}[?message_type=…]`: every stored message of an order.
    @Sendable func list(request: Request, context: WebhookRequestContext) async throws -> Response {
        let rawOrderID = try context.parameters.require("order_id")
        let orderID = rawOrderID.removingPercentEncoding ?? rawOrderID
        var problems: [FieldError] = []
        if let problem = WebhookPayload.validateOrderID(orderID) { problems.append(problem) }
        var type: MessageType?
        if let filter = request.uri.queryParameters["message_type"] {
            type = MessageType(rawValue: String(filter))
            if type == nil { problems.append(FieldError(field: "message_type", message: WebhookPayload.messageTypeRule)) }
        }
        guard problems.isEmpty else { throw WebhookError.validationFailed(problems) }

        let key = ListingCache.Key(orderID: orderID, type: type)
        let kept = listingCache.entry(for: key)
        switch try await store.messages(forOrder: orderID, type: type, unlessUnchangedSince: kept?.version) {
        case .unchanged:
            if let kept { return .json(kept.body) }
            return .json(listing(orderID, type, try await store.messages(forOrder: orderID, type: type)))
        case .messages(let messages, let version):
            let body = listing(orderID, type, messages)
            if let version { listingCache.keep(.init(version: version, body: body), for: key) }
            return .json(body)
        }
    }

    /// The whole request body, refused without reading it when its `Content-Length` is over
    /// the limit. A body that cannot be read (the client closed mid-body, its chunks are
    /// malformed, the connection idled out) is the client's fault: 400, and nothing stored.
    private static func readBody(of request: Request, upTo limit: Int, context: WebhookRequestContext) async throws -> ByteBuffer {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw WebhookError.payloadTooLarge(limit: limit)
        }
        var request = request
        do {
            return try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw WebhookError.payloadTooLarge(limit: limit)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let reason = (error as? HTTPParserError).map(HTTPConnectionGuard.reason(for:)) ?? "its body could not be read"
            context.logger.notice("Request body could not be read", metadata: ["reason": .string(reason)])
            throw WebhookError.malformedHTTP(reason)
        }
    }

    private func listing(_ orderID: String, _ type: MessageType?, _ messages: [StoredMessage]) -> ByteBuffer {
        MessageListResponse(orderID: orderID, messageType: type?.rawValue, messages: messages).jsonBody
    }

    private static func nowMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}

/// The answer to a delivery: the spec's fields, then `delivery`, which says what the delivery
/// did (`created`, `updated`, `duplicate` or `stale`; see ``StoreOutcome``).
struct ReceiptResponse: JSONWritable, Decodable, Equatable {
    var message: String
    var orderID: String
    var messageID: String
    var messageType: String
    var requestID: String
    var responseTimeMilliseconds: Double
    var delivery: String

    enum CodingKeys: String, CodingKey {
        case message
        case orderID = "order_id"
        case messageID = "message_id"
        case messageType = "message_type"
        case requestID = "request_id"
        case responseTimeMilliseconds = "response_time_ms"
        case delivery
    }

    func write(to writer: inout JSONWriter) {
        writer.object { body in
            body.field("message", message)
            body.field("order_id", orderID)
            body.field("message_id", messageID)
            body.field("message_type", messageType)
            body.field("request_id", requestID)
            body.field("response_time_ms", responseTimeMilliseconds)
            body.field("delivery", delivery)
        }
    }
}

/// The answer to a listing: `message_type` is `null` when no filter was given.
struct MessageListResponse: JSONWritable, Decodable, Equatable {
    var orderID: String
    var messageType: String?
    var messages: [StoredMessage]

    enum CodingKeys: String, CodingKey {
        case orderID = "order_id"
        case messageType = "message_type"
        case count
        case messages
    }

    init(orderID: String, messageType: String?, messages: [StoredMessage]) {
        self.orderID = orderID
        self.messageType = messageType
        self.messages = messages
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        orderID = try container.decode(String.self, forKey: .orderID)
        messageType = try container.decodeIfPresent(String.self, forKey: .messageType)
        messages = try container.decode([StoredMessage].self, forKey: .messages)
    }

    func write(to writer: inout JSONWriter) {
        writer.object { body in
            body.field("order_id", orderID)
            body.field("message_type", messageType)  // `null`, not absent, without a filter
            body.field("count", messages.count)
            body.key("messages")
            body.array(messages) { list, message in message.write(to: &list) }
        }
    }
}
