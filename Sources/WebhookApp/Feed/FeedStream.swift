import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import MessageStore
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Synchronization

/// The context of a request that asks to upgrade to a WebSocket. Such requests go through
/// ``FeedStreamRoutes`` first; one it declines goes on to the service's router as any request.
struct StreamRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    /// The peer's IP address, when the connection has one.
    let remoteAddress: String?
    /// Where the stream starts, once the upgrade was accepted: shared by the copies of this
    /// context that the upgrade check and the stream's handler get.
    let start = StreamStart()

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }
}

/// The position a stream starts after, taken before the upgrade is answered: a change stored
/// once the client has its `101` (by the client itself, say) always comes after it.
final class StreamStart: Sendable {
    private let position = Mutex<FeedPosition?>(nil)

    var value: FeedPosition? { position.withLock { $0 } }

    func set(_ value: FeedPosition) { position.withLock { $0 = value } }
}

/// `GET /webhook/stream?after=&order_id=` as a WebSocket: replays the events after `after`
/// (from the feed's end when it is not given), then sends each new one as it is stored, each
/// as one JSON text frame with its `cursor` (the same objects as `/webhook/feed`'s events).
///
/// An upgrade is offered to the WebSocket router only when ``admitsUpgrade(_:remoteAddress:)``
/// says so: credentials that the service's ``BasicAuthMiddleware`` would let through, on this
/// path, from no page of another origin (``SameOriginPolicy``), with a query that
/// ``FeedQuery`` accepts. Any other upgrade request reaches the service's router as a plain
/// request (see ``FirstRequestGuard``), which answers it as it answers every request (403,
/// 401, 429, 400, 410, or 426) and counts failed credentials once.
struct FeedStreamRoutes: Sendable {
    let store: any MessageStore
    let hub: FeedHub
    /// Rung when a subscriber connects, so that the follower starts reading at once.
    let doorbell: FeedDoorbell
    let auth: BasicAuthMiddleware
    let retention: FeedRetention
    /// Where accepted upgrades are counted (status 101, and a bare 400 when declined here),
    /// beside the main router's requests; `nil` when metrics are off. Refused upgrades reach
    /// the main router and are counted there.
    let requests: HTTPRequestSeries?

    static let path = "/webhook/stream"

    /// Whether an upgrade request may become a stream.
    func admitsUpgrade(_ head: HTTPRequestHead, remoteAddress: String?) -> Bool {
        let uri = URI(head.uri)
        guard uri.path == Self.path, SameOriginPolicy.allows(head) else { return false }
        var headers = HTTPFields()
        for (name, value) in head.headers {
            if let name = HTTPField.Name(name) { headers.append(HTTPField(name: name, value: value)) }
        }
        return auth.admits(headers, remoteAddress: remoteAddress) && (try? FeedQuery(uri, withoutAfter: .end, retention: retention)) != nil
    }

    func addRoutes(to router: Router<StreamRequestContext>) {
        router.ws(RouterPath(Self.path)) { request, context in
            let received = ContinuousClock.now
            // Checked again: a lockout may have begun since (a declined upgrade here is a bare 400).
            guard auth.admits(request.headers, remoteAddress: context.remoteAddress),
                let query = try? FeedQuery(request.uri, withoutAfter: .end, retention: retention)
            else {
                requests?.record(route: Self.path, method: request.method, status: 400, since: received)
                return .dontUpgrade
            }
            // The end of the feed before the `101`, not after: nothing stored once the client
            // knows it is subscribed can come before its start. A store that does not answer
            // now is asked again by the stream's handler.
            if let start = try? await query.position(in: store, hub: hub) { context.start.set(start) }
            requests?.record(route: Self.path, method: request.method, status: 101, since: received)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let query = try FeedQuery(context.request.uri, withoutAfter: .end, retention: retention)
            var logger = context.logger
            logger[metadataKey: "order_id"] = query.orderID.map { .string($0) }
            logger[metadataKey: "client_address"] = context.requestContext.remoteAddress.map { .string($0) }
            let subscription = FeedSubscription(store: store, hub: hub, doorbell: doorbell, orderID: query.orderID, logger: logger)
            // A stream starts after a cursor or at the end, never at the oldest event kept.
            var start = context.requestContext.start.value
            if start == nil { start = try await query.position(in: store, hub: hub) }
            try await subscription.run(from: start ?? FeedPosition(sequence: 0, time: 0), inbound: inbound, outbound: outbound)
        }
    }
}

/// One connected subscriber: sends the events after its position, from the store while it
/// is behind the ``FeedHub``'s window and from the window once it caught up, until the client
/// goes away or falls too far behind (then closed with 1013, "try again later", to resume
/// from the last cursor it received).
struct FeedSubscription: Sendable {
    let store: any MessageStore
    let hub: FeedHub
    let doorbell: FeedDoorbell
    let orderID: String?
    let logger: Logger

    /// How many events one read returns.
    static let batchSize = 256
    /// WebSocket close code 1013, "try again later".
    static let tryAgainLater = WebSocketErrorCode.unknown(1013)

    private enum Ending: Sendable {
        case clientLeft, tooFarBehind
    }

    /// Sends the events after `start` until the client leaves or falls too far behind.
    func run(from start: FeedPosition, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let id = await hub.subscribe()
        doorbell.ring()
        logger.info("Stream subscriber connected", metadata: ["after": .stringConvertible(start.sequence)])
        let ending: Ending
        do {
            ending = try await withThrowingTaskGroup(of: Ending.self) { group in
                group.addTask { try await send(id, from: start, to: outbound) }
                group.addTask {
                    await hub.untilTooFarBehind(id)
                    return .tooFarBehind
                }
                group.addTask {
                    // What the client sends is not read; iterating lets close frames through.
                    for try await _ in inbound {}
                    return .clientLeft
                }
                defer { group.cancelAll() }
                return try await group.next() ?? .clientLeft
            }
        } catch {
            await hub.unsubscribe(id)
            logger.notice("Stream subscriber closed on an error", metadata: ["error": .string(String(describing: error))])
            throw error
        }
        await hub.unsubscribe(id)
        switch ending {
        case .clientLeft:
            logger.info("Stream subscriber left")
        case .tooFarBehind:
            logger.notice("Stream subscriber fell too far behind; closing it with 1013 so that it resumes from its last cursor")
            try await outbound.close(Self.tryAgainLater, reason: "too far behind: reconnect with your last cursor")
        }
    }

    /// Sends every event after `start`; returns only when the hub finds it too far behind.
    private func send(_ id: FeedHub.SubscriberID, from start: FeedPosition, to outbound: WebSocketOutboundWriter) async throws -> Ending {
        var position = start
        while true {
            try Task.checkCancellation()
            switch try await hub.read(id, after: position, orderID: orderID, limit: Self.batchSize) {
            case .frames(let frames, let next):
                for frame in frames { try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame.json))) }
                position = next
            case .notInWindow:
                let page = try await store.feed(after: position, orderID: orderID, limit: Self.batchSize)
                for event in page.events {
                    try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: event.frame.json)))
                }
                if page.events.isEmpty, page.next <= position {
                    // Nothing stored after it yet, and the window does not reach it (the
                    // follower has not started): look again shortly.
                    try await Task.sleep(for: .milliseconds(100))
                }
                position = max(position, page.next)
            case .tooFarBehind:
                return .tooFarBehind
            }
        }
    }
}
