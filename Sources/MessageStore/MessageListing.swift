import Synchronization

/// An order's messages, read a chunk at a time, for an answer that streams: the number of
/// messages comes first, then the messages themselves in `SK` order, so a listing never has to
/// hold a whole order in memory.
///
/// Every message of one listing comes from one consistent read (a SQLite snapshot; for
/// DynamoDB, the keys counted first), and the listing checks that the messages it hands out
/// add up to ``count``: it throws rather than return one more or one fewer.
///
/// Iterate it to the end, or call ``close()`` when stopping early (a client that went away,
/// say), so that the store gets back what the listing holds (a SQLite reader connection and
/// its read transaction). A listing dropped without either is closed when its cursor is
/// released, as a last resort.
public struct MessageListing: AsyncSequence, Sendable {
    public typealias Element = [StoredMessage]

    /// How many messages the listing holds, known before the first is read.
    public let count: Int
    /// The order's version that labels this read (see
    /// ``MessageStore/listing(forOrder:type:unlessUnchangedSince:)``), or `nil` when the
    /// store keeps none.
    public let version: Int64?
    private let cursor: any MessageListingCursor

    /// Creates a listing over a store's cursor.
    public init(count: Int, version: Int64?, cursor: any MessageListingCursor) {
        self.count = count
        self.version = version
        self.cursor = cursor
    }

    /// Gives back what the listing holds, before its end. Safe to call more than once, and
    /// after the end.
    public func close() async {
        await cursor.close()
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(count: count, cursor: cursor)
    }

    /// Hands out the cursor's chunks, checking that they add up to the listing's count.
    public struct Iterator: AsyncIteratorProtocol, Sendable {
        let count: Int
        let cursor: any MessageListingCursor
        private var handedOut = 0

        init(count: Int, cursor: any MessageListingCursor) {
            self.count = count
            self.cursor = cursor
        }

        /// The next chunk (never empty), or `nil` once all ``MessageListing/count`` messages
        /// have been handed out.
        /// - Throws: ``MessageStoreError`` when the store fails, or when the messages it
        ///   returns do not add up to the count it promised.
        public mutating func next() async throws -> [StoredMessage]? {
            while let chunk = try await cursor.nextChunk() {
                handedOut += chunk.count
                guard handedOut <= count else {
                    await cursor.close()
                    throw MessageStoreError.failed("the listing returned more messages than the \(count) it counted")
                }
                if !chunk.isEmpty { return chunk }
            }
            guard handedOut == count else {
                throw MessageStoreError.failed("the listing ended after \(handedOut) of the \(count) messages it counted")
            }
            return nil
        }
    }
}

/// What a store implements to stream a listing (see ``MessageListing``): chunks of messages in
/// `SK` order, then `nil`.
///
/// One consumer calls ``nextChunk()`` at a time, and ``close()`` only between calls. A cursor
/// gives back its resources by itself when it reaches its end or fails, on ``close()``, and
/// when it is released without either.
public protocol MessageListingCursor: Sendable {
    /// The next messages, in `SK` order, or `nil` at the end.
    /// - Throws: ``MessageStoreError`` when the store cannot be read; the cursor is closed then.
    func nextChunk() async throws -> [StoredMessage]?

    /// Stops early and gives back what the cursor holds. Safe to call more than once.
    func close() async
}

/// The answer to ``MessageStore/listing(forOrder:type:unlessUnchangedSince:)``.
public enum ListingRead: Sendable {
    /// The order has not changed since the known version.
    case unchanged
    /// The order's messages, to read chunk by chunk.
    case listing(MessageListing)
}

/// How much a store reads ahead of the HTTP writer: a chunk ends after `messages` messages
/// or once it holds about `bytes` bytes of text, whichever comes first (and holds at least one
/// message, however large).
public struct ListingChunkLimits: Sendable, Hashable {
    /// The most messages in one chunk.
    public var messages: Int
    /// About the most bytes of message text and attachments in one chunk.
    public var bytes: Int

    /// Creates chunk limits.
    public init(messages: Int = 64, bytes: Int = 256 * 1024) {
        self.messages = max(1, messages)
        self.bytes = max(1, bytes)
    }

    /// About how many bytes a message takes in a chunk: its text and attachments, and a
    /// little for its other attributes.
    public static func footprint(of message: StoredMessage) -> Int {
        let attachments = message.attachments?.reduce(0) { $0 + $1.id.utf8.count + $1.name.utf8.count + $1.url.utf8.count + 64 } ?? 0
        return message.text.utf8.count + message.fromName.utf8.count + attachments + 256
    }
}

/// A cursor over messages already in memory: a store that cannot stream hands out what it read
/// in one chunk.
public final class BufferedListingCursor: MessageListingCursor {
    private let remaining: Mutex<[StoredMessage]?>

    /// Creates a cursor that hands out `messages` as one chunk.
    public init(_ messages: [StoredMessage]) {
        remaining = Mutex(messages)
    }

    public func nextChunk() async throws -> [StoredMessage]? {
        remaining.withLock { remaining in
            defer { remaining = nil }
            return remaining
        }
    }

    public func close() async {
        remaining.withLock { $0 = nil }
    }
}
