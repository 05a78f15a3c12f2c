/// Where messages are kept: the seam between the HTTP layer and a storage technology.
///
/// It speaks the domain, not SQL or DynamoDB. Every conforming store must:
/// - return from ``store(_:)`` only once the outcome is durable, and throw otherwise;
/// - key messages by order (`PK`) and by type and id (`SK`): one item per key, ever;
/// - decide between versions of one message by their `timestamp`, atomically, so that
///   deliveries racing on several instances cannot undo each other (see ``StoreOutcome``);
/// - return an order's messages in ascending sort-key order (`SK`, compared byte by byte);
/// - apply ``ReadStatement`` whenever a delivery or a reader changes `read`;
/// - keep each order's summary (``OrderSummary``: counts, last message) in the same atomic
///   step as every write that changes it, so the counts never drift;
/// - record every change it stores (a `created` or `updated` delivery, a reader's `read`
///   change) as one ``FeedEvent`` in the same atomic step, and none for a `duplicate` or
///   `stale` delivery or a `read` statement that changed nothing (see ``feed(after:orderID:limit:)``);
/// - find every stored message by its text (see ``search(_:)``);
/// - keep the archiver's ledger (``ArchiveLedger``, issue 14): archived files recorded on
///   their messages, outside the spec's `attachments` (an attribute or column named
///   `attachmentArchive`), shown by every read of a message, kept by an `updated` delivery
///   for the attachments it keeps at the same URL (``StoredMessage/keepingArchives(of:)``),
///   and recorded without a feed event or order activity; and its jobs and checkpoint.
public protocol MessageStore: ArchiveLedger {
    /// Stores a version of a message, unless the store already holds one at least as new.
    /// - Returns: what happened; in every case the stored item is the newest version.
    /// - Throws: ``MessageStoreError`` when the outcome could not be made durable.
    func store(_ message: StoredMessage) async throws -> StoreOutcome

    /// Every stored message of an order, optionally only those of one type, in `SK` order.
    /// - Parameters:
    ///   - orderID: Qualia's order identifier.
    ///   - type: The message type to keep, or `nil` for both.
    /// - Throws: ``MessageStoreError`` when the store could not be read.
    func messages(forOrder orderID: String, type: MessageType?) async throws -> [StoredMessage]

    /// An order's messages as a ``MessageListing``, to read chunk by chunk, unless they are
    /// unchanged since the read that returned `knownVersion` (the listing's
    /// ``MessageListing/version``): lets a caller keep what it made of a read (an encoded
    /// answer, say) for as long as the order does not change, from this process or any other.
    /// A version may be older than the data it labels, never newer, so keeping data under it
    /// can only cause an extra read later, never a stale answer.
    ///
    /// Its ``MessageListing/count`` is known before any message is read, and equals the
    /// number of messages it hands out. A store that streams holds something (a connection, a
    /// transaction) until the listing ends or is closed. A store that cannot stream, or cannot
    /// tell cheaply whether an order changed, returns what ``messages(forOrder:type:)`` read,
    /// as one chunk with no version, every time (the default).
    /// - Throws: ``MessageStoreError`` when the store could not be read; errors found while
    ///   reading later chunks are thrown by the listing's iterator instead.
    func listing(forOrder orderID: String, type: MessageType?, unlessUnchangedSince knownVersion: Int64?) async throws -> ListingRead

    /// One page of an order's messages in `SK` order, optionally of one type: at most
    /// `limit` messages whose sort key comes after `sortKey` (byte order), read by key, so a
    /// page costs the same wherever it is. Following the pages returns every message that
    /// existed throughout exactly once, whatever is written meanwhile.
    func page(ofOrder orderID: String, type: MessageType?, after sortKey: String?, limit: Int) async throws -> Page<StoredMessage, String>

    /// One message, or `nil` when there is none with that key.
    func message(_ key: MessageKey) async throws -> StoredMessage?

    /// Sets a message's `read` as a reader's statement at server time `time` (Unix ms), unless
    /// a newer statement stands (see ``ReadStatement``), in one atomic step with the order's
    /// counts. Returns only once the change is durable.
    /// - Returns: the message as stored afterwards, or `nil` when there is no such message.
    func setRead(_ read: Bool, of key: MessageKey, at time: Int64) async throws -> StoredMessage?

    /// One page of the orders that have messages, most recent activity first (see
    /// ``OrderPosition``), after `position`; only those with unread messages when
    /// `unreadOnly`.
    func orders(after position: OrderPosition?, limit: Int, unreadOnly: Bool) async throws -> Page<OrderSummary, OrderPosition>

    /// One page of an order's conversation (received and sent messages together, oldest first
    /// by `timestamp`, ties by `SK`), optionally of one thread (see
    /// ``StoredMessage/conversationThreadID``), after `position`.
    func conversation(ofOrder orderID: String, thread threadID: String?, after position: ConversationPosition?, limit: Int) async throws
        -> Page<StoredMessage, ConversationPosition>

    /// Every thread of an order, in order of their first message.
    func threads(ofOrder orderID: String) async throws -> [ThreadSummary]

    /// One page of the change feed: at most `limit` events after `position` (from the oldest
    /// event kept when it is `nil`), in sequence order, optionally only those of one order.
    ///
    /// Never skips: following the pages returns every event stored after `position`, whichever
    /// instance stored it and whatever is being written meanwhile. A page ends before any
    /// sequence number that may still be taken by a change in flight, so a later change never
    /// lands behind a page already read. Events of one message come in the order they were stored.
    /// - Throws: ``FeedPositionExpired`` when `position` is older than the feed keeps;
    ///   ``MessageStoreError`` when the store could not be read.
    func feed(after position: FeedPosition?, orderID: String?, limit: Int) async throws -> FeedPage

    /// The end of the feed now: only events stored from now on come after it.
    func feedEnd() async throws -> FeedPosition

    /// Drops the events that retention no longer keeps (see ``FeedRetention/dropBefore(now:)``).
    /// - Returns: how many it dropped; a store whose database expires them by itself
    ///   (DynamoDB's TTL) drops none.
    func pruneFeed() async throws -> Int

    /// How often a follower of the feed reads it for changes that another process stored:
    /// this process's own writes are announced at once (see the live stream), so this bounds
    /// how late the others' are seen.
    var feedPollInterval: Duration { get }

    /// One page of search results (see ``SearchRequest``): the messages that match the query
    /// and its filters as they are stored now (an `updated` message by its new text only),
    /// newest first (see ``SearchPosition``), after the request's position. A message is found
    /// as soon as the write that stored it returned.
    ///
    /// Following the pages returns every result exactly once, whatever is written meanwhile,
    /// save the messages changed after the first page was read (each is found by its newest
    /// version, in that version's place). Every store decides by ``SearchRequest/accepts(_:)``,
    /// so that the same request on the same messages gives the same results on every store.
    /// - Throws: ``SearchWindowRequired`` when the store cannot run the search without an order
    ///   or a narrower window; ``MessageStoreError`` when the store could not be read.
    func search(_ request: SearchRequest) async throws -> Page<StoredMessage, SearchPosition>

    /// Checks that the store answers, for readiness probes.
    /// - Throws: ``MessageStoreError`` when it does not.
    func checkReadiness() async throws

    /// Releases the store's resources. The store is not used afterwards.
    func shutdown() async throws
}

extension MessageStore {
    public func listing(forOrder orderID: String, type: MessageType?, unlessUnchangedSince knownVersion: Int64?) async throws -> ListingRead {
        let messages = try await messages(forOrder: orderID, type: type)
        return .listing(MessageListing(count: messages.count, version: nil, cursor: BufferedListingCursor(messages)))
    }
}

/// What storing a delivery did. Webhook senders deliver at least once and not always in
/// order, so a delivery may repeat or trail a version already stored.
public enum StoreOutcome: String, Sendable, Hashable, CaseIterable {
    /// No version was stored before; this one now is.
    case created
    /// An older version (smaller `timestamp`) was stored; this one replaced it.
    case updated
    /// The same version (same `timestamp` and content) was already stored; nothing changed.
    case duplicate
    /// A newer version was already stored, or another one with the same `timestamp`
    /// (the first stored wins); nothing changed.
    case stale

    /// Decides what a delivery does to the stored version, the rule every store applies.
    public static func decide(storing new: StoredMessage, over stored: StoredMessage?) -> StoreOutcome {
        guard let stored else { return .created }
        return decide(storing: new, overVersionAt: stored.timestamp) { stored }
    }

    /// The same rule, for a store that can read the stored version's `timestamp` alone: its
    /// content is only needed, and `storedVersion` only called, when the timestamps tie.
    public static func decide(
        storing new: StoredMessage, overVersionAt storedTimestamp: Int64, storedVersion: () throws -> StoredMessage
    ) rethrows -> StoreOutcome {
        if new.timestamp > storedTimestamp { return .updated }
        if try new.timestamp == storedTimestamp && new.hasSameContent(as: storedVersion()) { return .duplicate }
        return .stale
    }

    /// Whether the delivery was written.
    public var wroteNewVersion: Bool { self == .created || self == .updated }
}

/// Why a store operation failed. The reason is for logs only: it never reaches a client.
public struct MessageStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Broad classes of store failure, which decide the HTTP answer.
    public enum Kind: Sendable, Hashable {
        /// The store cannot be reached or is overloaded right now; retrying later may succeed.
        case unavailable
        /// The store answered with an error that retrying will not fix by itself.
        case failed
    }

    /// The class of failure.
    public var kind: Kind
    /// What went wrong, for operators' logs.
    public var reason: String

    /// Creates a store error.
    public init(_ kind: Kind, reason: String) {
        self.kind = kind
        self.reason = reason
    }

    /// The store cannot be reached or is overloaded right now.
    public static func unavailable(_ reason: String) -> Self { .init(.unavailable, reason: reason) }
    /// The store answered with an error that retrying will not fix by itself.
    public static func failed(_ reason: String) -> Self { .init(.failed, reason: reason) }

    public var description: String { "\(kind): \(reason)" }
}
