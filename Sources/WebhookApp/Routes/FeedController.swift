import Hummingbird
import MessageStore

/// `GET /webhook/feed`: the change feed, page by page, for reader and webhook credentials
/// alike; and `GET /webhook/stream` when it is not a WebSocket upgrade that
/// ``FeedStreamRoutes`` accepted (so its errors are answered here, with the same
/// authentication and checks as every route).
struct FeedController: Sendable {
    let store: any MessageStore
    let hub: FeedHub
    let retention: FeedRetention

    func addRoutes(to group: RouterGroup<WebhookRequestContext>) {
        group.get("feed", use: feed)
        group.get("stream", use: stream)
    }

    /// `GET /webhook/feed?after=&limit=&order_id=`: `{"events": [...], "next_cursor": "..."}`.
    @Sendable func feed(request: Request, context: WebhookRequestContext) async throws -> FeedPageResponse {
        let query = try FeedQuery(request.uri, withoutAfter: .oldest, retention: retention)
        do {
            let page = try await store.feed(after: try await query.position(in: store, hub: hub), orderID: query.orderID, limit: query.limit)
            return FeedPageResponse(page: page)
        } catch is FeedPositionExpired {
            throw WebhookError.cursorExpired
        }
    }

    /// `GET /webhook/stream` that was not upgraded: its query's errors, else `426`.
    @Sendable func stream(request: Request, context: WebhookRequestContext) async throws -> Response {
        _ = try FeedQuery(request.uri, withoutAfter: .end, retention: retention)
        throw WebhookError.upgradeRequired
    }
}
