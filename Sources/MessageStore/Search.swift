// Full-text search across orders (issue 13): what a reader asks for, where a page of results
// ends, and how a store that finds matches in roughly newest-first order puts them in exact order.

/// The stored times a search keeps: messages whose `storedAt` is from ``from`` to ``to``, to
/// the second, both ends included.
public struct SearchWindow: Sendable, Hashable {
    /// The earliest `storedAt` kept, Unix seconds.
    public var from: Int64
    /// The latest `storedAt` kept, Unix seconds.
    public var to: Int64

    /// The longest window a store without a text index searches (DynamoDB), in days.
    public static let maximumDays: Int64 = 31

    /// Creates a window; `from` is at most `to`.
    public init(from: Int64, to: Int64) {
        self.from = from
        self.to = to
    }

    /// Whether a message stored at `storedAt` (the stored text) falls in the window.
    public func contains(storedAt: String) -> Bool {
        guard let seconds = SearchPosition.seconds(ofStoredAt: storedAt) else { return false }
        return from <= seconds && seconds <= to
    }

    /// How long the window is, in seconds (`Int64.max` when that does not fit).
    public var seconds: Int64 {
        let (length, overflow) = to.subtractingReportingOverflow(from)
        return overflow ? .max : length
    }
}

/// A place in search results. Results run newest first: by `storedAt` descending (to the
/// second), then by order id and `SK` descending (byte order), the same on every store.
///
/// ``resumeHint`` is where the store that made the position can start reading for the next
/// page (a SQLite document id, a DynamoDB feed sequence): only a shortcut, since the page
/// after a position holds exactly the results that come after it, wherever reading starts.
public struct SearchPosition: Sendable, Hashable {
    /// The message's `storedAt`, as stored.
    public var storedAt: String
    /// The message's order id.
    public var orderID: String
    /// The message's sort key, `{message_type}#{message_id}`.
    public var sortKey: String
    /// Where the store can start reading for the results after this position, or `nil`.
    public var resumeHint: Int64?

    /// Creates a position.
    public init(storedAt: String, orderID: String, sortKey: String, resumeHint: Int64? = nil) {
        self.storedAt = storedAt
        self.orderID = orderID
        self.sortKey = sortKey
        self.resumeHint = resumeHint
    }

    /// A message's place in search results.
    public init(of message: StoredMessage) {
        self.init(storedAt: message.storedAt, orderID: message.orderID, sortKey: message.sortKey)
    }

    /// Whether `self` comes before `other` in search results (newer first).
    public func precedes(_ other: Self) -> Bool {
        if !storedAt.hasSameUTF8(as: other.storedAt) { return other.storedAt.utf8.lexicographicallyPrecedes(storedAt.utf8) }
        if !orderID.hasSameUTF8(as: other.orderID) { return other.orderID.utf8.lexicographicallyPrecedes(orderID.utf8) }
        return other.sortKey.utf8.lexicographicallyPrecedes(sortKey.utf8)
    }

    /// The Unix second of a stored `storedAt`, or `nil` when it is not an ISO 8601 date-time.
    public static func seconds(ofStoredAt storedAt: String) -> Int64? {
        ISO8601.unixMilliseconds(from: storedAt).map { $0.floorDivided(by: 1000).quotient }
    }
}

/// One search: a query and the filters that narrow it, and the page asked for.
public struct SearchRequest: Sendable {
    /// What to look for.
    public var query: SearchQuery
    /// Only this order's messages, when set.
    public var orderID: String?
    /// Only messages of this type, when set.
    public var messageType: MessageType?
    /// Only messages stored in this window, when set.
    public var window: SearchWindow?
    /// The page starts after this position (from the newest result when `nil`).
    public var after: SearchPosition?
    /// The most results on the page.
    public var limit: Int

    /// Creates a request.
    public init(query: SearchQuery, orderID: String? = nil, messageType: MessageType? = nil, window: SearchWindow? = nil,
                after: SearchPosition? = nil, limit: Int) {
        self.query = query
        self.orderID = orderID
        self.messageType = messageType
        self.window = window
        self.after = after
        self.limit = limit
    }

    /// Whether `message` is a result: it matches the query and every filter. The store's
    /// index only finds candidates; this is the rule that decides, the same on every store.
    public func accepts(_ message: StoredMessage) -> Bool {
        if let orderID, !message.orderID.hasSameUTF8(as: orderID) { return false }
        if let messageType, message.messageType != messageType { return false }
        if let window, !window.contains(storedAt: message.storedAt) { return false }
        if let after, !after.precedes(SearchPosition(of: message)) { return false }
        return query.matches(message)
    }
}

/// A search a store cannot run as asked: one without an order needs a window of stored time
/// on a store without a text index (answered `400 window_required` with ``reason``).
public struct SearchWindowRequired: Error, Sendable, Hashable {
    /// What the search must give, for the client.
    public var reason: String

    /// Creates the error.
    public init(reason: String) {
        self.reason = reason
    }
}

/// Puts the results a store finds in roughly newest-first order into exact result order (see
/// ``SearchPosition``) and cuts the page.
///
/// The store reads candidates in an order where it can say, as it goes, that everything it has
/// not read yet was stored at or before some second (``lowerWatermark(to:)``): a result newer
/// than that second can no longer be overtaken, so it is final. The page is complete once
/// `limit + 1` results are final, or the store has read everything (``page(exhausted:)``).
public struct SearchPageCollector: Sendable {
    private let request: SearchRequest
    private var results: [Candidate] = []
    private var seen: Set<[UInt8]> = []
    /// Every candidate not added yet was stored at or before this second.
    private var watermark = Int64.max
    private var finalCount = 0

    private struct Candidate: Sendable {
        var message: StoredMessage
        var position: SearchPosition
        var seconds: Int64
        var resumeHint: Int64?
    }

    /// Starts collecting the page `request` asks for.
    public init(for request: SearchRequest) {
        self.request = request
    }

    /// Offers a candidate the store found, with the place its reading of it came from
    /// (`resumeHint`: where reading must start again to find it). Kept when the request
    /// accepts it (``SearchRequest/accepts(_:)``), once per message key.
    public mutating func offer(_ message: StoredMessage, resumeHint: Int64? = nil) {
        guard request.accepts(message), seen.insert(message.keyBytes).inserted else { return }
        let seconds = SearchPosition.seconds(ofStoredAt: message.storedAt) ?? Int64.min
        results.append(Candidate(message: message, position: SearchPosition(of: message), seconds: seconds, resumeHint: resumeHint))
        if seconds > watermark { finalCount += 1 }
    }

    /// Says that every candidate not offered yet was stored at or before `second` (Unix
    /// seconds). The watermark only goes down; a higher value is ignored.
    public mutating func lowerWatermark(to second: Int64) {
        guard second < watermark else { return }
        watermark = second
        finalCount = results.count { $0.seconds > second }
    }

    /// Whether the page is known: more than `limit` results are final.
    public var isComplete: Bool { finalCount > request.limit }

    /// The page: the first `limit` results in order, and a position to continue from when
    /// more follow. `exhausted` says that the store offered every candidate there is;
    /// otherwise `unreadFrom` is the resume hint that covers every candidate it has not read.
    ///
    /// A resume hint means "read again from here, inclusive, towards older"; the next
    /// position's hint is the greatest of those that cover what this page leaves over, and
    /// `nil` when one of them is unknown.
    public func page(exhausted: Bool, unreadFrom: Int64? = nil) -> Page<StoredMessage, SearchPosition> {
        let ready = (exhausted ? results : results.filter { $0.seconds > watermark })
            .sorted { $0.position.precedes($1.position) }
        let page = Array(ready.prefix(request.limit))
        guard let last = page.last, ready.count > request.limit || !exhausted else {
            return Page(items: page.map(\.message), next: nil)
        }
        var hints = results.filter { last.position.precedes($0.position) }.map(\.resumeHint)
        if !exhausted { hints.append(unreadFrom) }
        var next = last.position
        next.resumeHint = hints.contains(nil) ? nil : hints.compactMap { $0 }.max()
        return Page(items: page.map(\.message), next: next)
    }
}

extension StoredMessage {
    /// The message's table key as bytes (`PK`, a zero byte, `SK`): one per message, compared
    /// byte for byte, for sets of messages seen.
    public var keyBytes: [UInt8] {
        var key = Array(partitionKey.utf8)
        key.append(0)
        key.append(contentsOf: sortKey.utf8)
        return key
    }
}
