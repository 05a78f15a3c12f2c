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
    /// The reader's routes, which answer a listing that asks for a page.
    let reader: ReaderController
    /// Rung after each stored change, so that live subscribers get it at once.
    let doorbell: FeedDoorbell
    /// Rung after a change of a message with attachments, when archiving is on, so that the
    /// archiver starts on it at once (it never delays the answer).
    let archiveBell: FeedDoorbell?

    func addRoutes(to group: RouterGroup<WebhookRequestContext>) {
        group.post("messages", use: receive)
        group.get("messages/{order_id}", use: list)
    }

    /// `POST /webhook/messages`: validates a message, stores it durably, then answers 200.
    @Sendable func receive(request: Request, context: WebhookRequestContext) async throws -> ReceiptResponse {
        guard context.role == .webhook else { throw WebhookError.forbidden }
        let json = try await Self.readJSON(of: request, upTo: maxBodyBytes, context: context)
        let message = try WebhookPayload.validate(json, storedAt: UnixTime.nowMilliseconds())
        let outcome = try await store.store(message)
        if outcome.wroteNewVersion {
            doorbell.ring()
            if message.attachments?.isEmpty == false { archiveBell?.ring() }
        }

        let responseTime = context.elapsedMilliseconds
        context.logger.info(
            "Message stored",
            metadata: [
                "order_id": .string(message.orderID),
                "message_id": .string(message.messageID),
                "message_type": .string(message.messageType.rawValue),
                "delivery": .string(outcome.rawValue),
                "response_time_ms": .stringConvertible(responseTime),
            ]
        )
        return ReceiptResponse(
            message: "Message received and stored successfully",
            orderID: message.orderID,
            messageID: message.messageID,
            messageType: message.messageType.rawValue,
            requestID: context.id,
            responseTimeMilliseconds: responseTime,
            delivery: outcome.rawValue
        )
    }

    /// `GET /webhook/messages/{order_id}[?message_type=…]`: every stored message of an order;
    /// with `limit` or `cursor`, one page of them instead (``ReaderController/page(orderID:type:query:)``).
    ///
    /// The answer streams, so memory stays flat whatever the order's size: the store counts
    /// the messages and reads the first chunk before the answer starts (so a store failure
    /// is still a `503`/`500` with its JSON body), then each later chunk is read only once
    /// the one before has been written to the client. An answer that is complete within
    /// ``bufferedAnswerBytes`` is sent whole instead, with its length, and may be kept by the
    /// listing cache. A failure after the answer started can only cut the connection; it is
    /// logged with the request id.
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
        let query = ReaderQuery(request, context: context)
        if query.value("limit") != nil || query.value("cursor") != nil {
            // Pages are the reader's (issue 11); without both, the spec's whole listing below.
            var paged = query
            _ = paged.limit(default: nil)
            guard problems.isEmpty else { throw WebhookError.validationFailed(problems + paged.problems) }
            return try await reader.page(orderID: orderID, type: type, query: query).jsonResponse(status: .ok)
        }
        guard problems.isEmpty else { throw WebhookError.validationFailed(problems) }

        let key = ListingCache.Key(orderID: orderID, type: type)
        let kept = listingCache.entry(for: key)
        let listing: MessageListing
        switch try await store.listing(forOrder: orderID, type: type, unlessUnchangedSince: kept?.version) {
        case .unchanged:
            if let kept { return .json(kept.body) }
            guard case .listing(let fresh) = try await store.listing(forOrder: orderID, type: type, unlessUnchangedSince: nil) else {
                throw WebhookError.internalError
            }
            listing = fresh
        case .listing(let fresh):
            listing = fresh
        }

        var encoder = MessageListEncoder(orderID: orderID, messageType: type?.rawValue, count: listing.count)
        var chunks = listing.makeAsyncIterator()
        var isComplete = false
        do {
            while encoder.pendingBytes < Self.bufferedAnswerBytes {
                guard let chunk = try await chunks.next() else {
                    isComplete = true
                    break
                }
                encoder.append(chunk)
            }
        } catch {
            await listing.close()
            throw error
        }
        if isComplete {
            encoder.finish()
            let body = encoder.takeBuffer()
            if let version = listing.version { listingCache.keep(.init(version: version, body: body), for: key) }
            return .json(body)
        }
        let start = encoder.takeBuffer()
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: Self.streamedBody(start: start, encoder: encoder, rest: chunks, of: listing, logger: context.logger)
        )
    }

    /// The request body as JSON (see ``readBody(of:upTo:context:)``); `400 invalid_json` when it is not.
    static func readJSON(of request: Request, upTo limit: Int, context: WebhookRequestContext) async throws -> JSONValue {
        let body = try await readBody(of: request, upTo: limit, context: context)
        do {
            return try JSONValue.parse(body.readableBytesView)
        } catch {
            throw WebhookError.invalidJSON
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

    /// The most bytes of a listing's answer held before it starts to stream: an answer that
    /// is complete by then is sent whole. The same as the largest answer the listing cache
    /// keeps, so every answer it would keep is whole when it decides.
    static let bufferedAnswerBytes = ListingCache.largestKeptAnswer

    /// The rest of a listing's answer, written chunk by chunk: each chunk is read from the
    /// store only once the one before has been handed to the connection, whose writes wait
    /// while the client is not reading, so a slow client slows the reads instead of filling
    /// memory. Gives the listing back to the store however it ends.
    private static func streamedBody(
        start: ByteBuffer, encoder: MessageListEncoder, rest: MessageListing.Iterator, of listing: MessageListing, logger: Logger
    ) -> ResponseBody {
        ResponseBody { writer in
            var encoder = encoder
            var rest = rest
            do {
                try await writer.write(start)
            } catch {
                await listing.close()
                logger.info("Client went away during a listing", metadata: ["error": .string(String(describing: error))])
                throw error
            }
            while true {
                let chunk: [StoredMessage]?
                do {
                    chunk = try await rest.next()
                } catch {
                    await listing.close()
                    logger.error(
                        "Listing failed after its answer started; cutting the connection",
                        metadata: ["error": .string(String(describing: error))]
                    )
                    throw error
                }
                if let chunk { encoder.append(chunk) } else { encoder.finish() }
                do {
                    try await writer.write(encoder.takeBuffer())
                    if chunk == nil {
                        try await writer.finish(nil)
                        return
                    }
                } catch {
                    await listing.close()
                    logger.info("Client went away during a listing", metadata: ["error": .string(String(describing: error))])
                    throw error
                }
            }
        }
    }
}

/// The answer to a delivery: the spec's fields, then `delivery`, which says what the delivery
/// did (`created`, `updated`, `duplicate` or `stale`; see ``StoreOutcome``).
struct ReceiptResponse: JSONWritable, Equatable {
    var message: String
    var orderID: String
    var messageID: String
    var messageType: String
    var requestID: String
    var responseTimeMilliseconds: Double
    var delivery: String

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
///
/// Served answers are written in pieces by ``MessageListEncoder``; this whole-answer form is
/// the reference they are tested against.
struct MessageListResponse: JSONWritable, Equatable {
    var orderID: String
    var messageType: String?
    var messages: [StoredMessage]

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
