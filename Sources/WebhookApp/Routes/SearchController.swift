import Hummingbird
import MessageStore

/// `GET /webhook/search`: full-text search across orders (issue 13), for reader and webhook
/// credentials alike.
///
/// `q` is read by ``SearchQuery`` (never as query syntax); a query it refuses is
/// `400 invalid_query` with the reason. `order_id`, `message_type`, `from` and `to` (ISO 8601;
/// `storedAt`, to the second, both ends included), `limit` and `cursor` narrow and page it;
/// wrong ones are `400 validation_failed`, naming each. A store that cannot search without an
/// order unless given a window (DynamoDB) answers `400 window_required`, saying what it needs.
struct SearchController: Sendable {
    let store: any MessageStore

    /// How many results a page holds when `limit` is not given.
    static let defaultLimit = 20
    /// The most results a page may ask for: each costs a read on a store without a text index.
    static let largestLimit = 100

    func addRoutes(to group: RouterGroup<WebhookRequestContext>) {
        group.get("search", use: search)
    }

    /// `GET /webhook/search?q=…[&order_id=][&message_type=][&from=][&to=][&limit=][&cursor=]`.
    @Sendable func search(request: Request, context: WebhookRequestContext) async throws -> SearchResponse {
        var query = ReaderQuery(request, context: context)
        let searchQuery = try Self.searchQuery(query.value("q"))
        let orderID = query.identifier("order_id")
        let type = query.messageType()
        let window = Self.window(from: query.value("from"), to: query.value("to"), problems: &query)
        let limit = query.limit(default: Self.defaultLimit, largest: Self.largestLimit) ?? Self.defaultLimit
        try query.requireValid()
        let after = try query.value("cursor").map {
            try ReaderCursor.read($0, listing: .search, orderID: orderID, filter: type?.rawValue).searchPosition()
        }
        let searchRequest = SearchRequest(query: searchQuery, orderID: orderID, messageType: type, window: window, after: after, limit: limit)
        do {
            let page = try await store.search(searchRequest)
            return SearchResponse(
                query: searchQuery, results: page.items,
                nextCursor: page.next.map { ReaderCursor.search(orderID: orderID, type: type, after: $0).text }
            )
        } catch let error as SearchWindowRequired {
            throw WebhookError.windowRequired(error.reason)
        }
    }

    /// `q`, read as terms.
    /// - Throws: `400 invalid_query` when it is missing or cannot be run.
    static func searchQuery(_ text: String?) throws -> SearchQuery {
        guard let text else { throw WebhookError.invalidQuery("The q parameter is required: the words or \"phrase\" to look for.") }
        do {
            return try SearchQuery(parsing: text)
        } catch {
            throw WebhookError.invalidQuery(error.description)
        }
    }

    /// The window of `storedAt` that `from` and `to` give, to the second (a missing `from` is
    /// the start of time, a missing `to` now), or `nil` when neither is given.
    static func window(from: String?, to: String?, problems query: inout ReaderQuery) -> SearchWindow? {
        guard from != nil || to != nil else { return nil }
        func second(_ text: String?, field: String) -> Int64?? {
            guard let text else { return .some(nil) }
            guard let milliseconds = ISO8601.unixMilliseconds(from: text), milliseconds >= 0 else {
                query.add(FieldError(field: field, message: "must be an ISO 8601 date-time with a time zone, such as 2025-10-28T10:30:00Z"))
                return nil
            }
            return .some(milliseconds / 1000)
        }
        let start = second(from, field: "from")
        let end = second(to, field: "to")
        guard let start, let end else { return nil }
        let window = SearchWindow(from: start ?? 0, to: end ?? UnixTime.nowMilliseconds() / 1000)
        guard window.from <= window.to else {
            query.add(FieldError(field: "from", message: "must not be after to"))
            return nil
        }
        return window
    }
}

extension WebhookError {
    /// 400: `q` is missing, or a query that cannot be run (``SearchQuery/Problem``).
    static func invalidQuery(_ reason: String) -> WebhookError {
        WebhookError(status: .badRequest, code: "invalid_query", message: reason)
    }

    /// 400: the store needs a narrower search (``SearchWindowRequired``).
    static func windowRequired(_ reason: String) -> WebhookError {
        WebhookError(status: .badRequest, code: "window_required", message: reason)
    }
}
