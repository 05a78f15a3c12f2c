import Hummingbird
import HummingbirdCore
import MessageStore

/// What a reader of the feed asks, from `after`, `order_id` and `limit`, checked the same way
/// for `/webhook/feed` and `/webhook/stream`.
struct FeedQuery: Sendable {
    /// Where reading starts.
    enum Start: Sendable, Equatable {
        /// At the oldest event kept (`/webhook/feed` without `after`).
        case oldest
        /// At the feed's end: only changes stored from now on (`after=now`, and
        /// `/webhook/stream` without `after`).
        case end
        /// After a cursor's position.
        case after(FeedPosition)
    }

    var start: Start
    /// Only this order's events, when given.
    var orderID: String?
    /// The most events one page holds.
    var limit: Int

    /// How many events a page holds when `limit` is not given.
    static let defaultLimit = 100

    /// Reads the query of `uri`.
    /// - Parameters:
    ///   - withoutAfter: where reading starts when `after` is not given.
    ///   - retention: what the feed keeps, to refuse a cursor older than that.
    /// - Throws: `400 invalid_cursor` for a cursor the feed did not give out, `410
    ///   cursor_expired` for one older than retention, `400 validation_failed` for a bad
    ///   `order_id` or `limit`.
    init(_ uri: URI, withoutAfter: Start, retention: FeedRetention) throws {
        let parameters = uri.queryParameters
        var problems: [FieldError] = []
        orderID = parameters["order_id"].map(String.init)
        if let orderID, let problem = WebhookPayload.validateOrderID(orderID) { problems.append(problem) }
        limit = Self.defaultLimit
        if let text = parameters["limit"] {
            if let number = ReaderQuery.parseLimit(text) { limit = number } else { problems.append(ReaderQuery.limitProblem()) }
        }
        guard problems.isEmpty else { throw WebhookError.validationFailed(problems) }
        switch parameters["after"].map(String.init) {
        case nil:
            start = withoutAfter
        case "now"?:
            start = .end
        case let cursor?:
            let position = try ReaderCursor.read(cursor, listing: .feed, orderID: nil, filter: nil).feedPosition()
            if retention.hasExpired(position, now: UnixTime.nowMilliseconds()) { throw WebhookError.cursorExpired }
            start = .after(position)
        }
    }

    /// The position to read after: `nil` for the oldest event kept. The end is the hub's
    /// while it follows the feed (everything up to it is settled, and asking the store costs
    /// more: on DynamoDB, a read of its newest slots), else the store's.
    func position(in store: any MessageStore, hub: FeedHub) async throws -> FeedPosition? {
        switch start {
        case .oldest: return nil
        case .end:
            // Taken now: whatever comes after it is stored from about now on.
            if let head = await hub.head { return FeedPosition(sequence: head.sequence, time: UnixTime.nowMilliseconds()) }
            return try await store.feedEnd()
        case .after(let position): return position
        }
    }
}
