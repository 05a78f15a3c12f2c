import MessageStore
import NIOCore
import Synchronization

/// Encoded `GET /webhook/messages/{order_id}` answers, kept while their order is unchanged.
///
/// Each answer is kept with the store's version of its order (see
/// ``MessageStore/listing(forOrder:type:unlessUnchangedSince:)``); the store checks that
/// version on every request, so an answer is reused only while the order has not changed,
/// whichever process wrote to it. What this saves is decoding the rows and encoding the
/// answer, most of a listing's cost. Bounded by the bytes of the answers it keeps; when
/// full, it drops the least recently used quarter.
final class ListingCache: Sendable {
    /// What an answer is kept under: the order and the type filter.
    ///
    /// Order ids are compared as bytes, as the stores key them: two ids that Swift's `String`
    /// would call equal (U+212A KELVIN SIGN and `K`) are two orders, with two answers.
    struct Key: Hashable, Sendable {
        var orderID: String
        var type: MessageType?

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.type == rhs.type && lhs.orderID.hasSameUTF8(as: rhs.orderID)
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(orderID)
            hasher.combine(type)
        }
    }

    /// A kept answer and the version of the order it was made from.
    struct Entry: Sendable {
        var version: Int64
        var body: ByteBuffer
    }

    private struct State {
        var entries: [Key: (entry: Entry, lastUsed: UInt64)] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    /// The most bytes of answers kept at once; 0 keeps none.
    let capacity: Int
    private let state = Mutex(State())

    /// Creates an empty cache holding at most `capacity` bytes of answers.
    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The answer kept for `key`, if any.
    func entry(for key: Key) -> Entry? {
        guard capacity > 0 else { return nil }
        return state.withLock { state in
            guard var kept = state.entries[key] else { return nil }
            state.clock += 1
            kept.lastUsed = state.clock
            state.entries[key] = kept
            return kept.entry
        }
    }

    /// The largest answer kept: bigger orders always stream from the store (see
    /// ``MessageController/list(request:context:)``), so keeping them would hold memory that
    /// streaming exists to avoid.
    static let largestKeptAnswer = 256 * 1024

    /// Keeps an answer, replacing one made from an older version of the order (versions only
    /// grow), never a newer one that a faster request kept meanwhile. An answer larger than
    /// ``largestKeptAnswer``, or than a quarter of the capacity, is not kept.
    func keep(_ entry: Entry, for key: Key) {
        let size = Self.footprint(of: entry, key: key)
        guard size <= capacity / 4, entry.body.readableBytes <= Self.largestKeptAnswer else { return }
        state.withLock { state in
            if let kept = state.entries[key], kept.entry.version > entry.version { return }
            state.clock += 1
            if let old = state.entries.updateValue((entry, state.clock), forKey: key) {
                state.bytes -= Self.footprint(of: old.entry, key: key)
            }
            state.bytes += size
            if state.bytes > capacity { Self.evictLeastRecentlyUsed(from: &state, toFit: capacity) }
        }
    }

    /// Bytes currently kept, keys included.
    var keptBytes: Int { state.withLock { $0.bytes } }

    private static func footprint(of entry: Entry, key: Key) -> Int {
        entry.body.readableBytes + key.orderID.utf8.count + 64
    }

    private static func evictLeastRecentlyUsed(from state: inout State, toFit capacity: Int) {
        // Dropping a quarter at a time keeps eviction rare: its sort is paid once per many keeps.
        let target = capacity * 3 / 4
        for (key, kept) in state.entries.sorted(by: { $0.value.lastUsed < $1.value.lastUsed }) {
            guard state.bytes > target else { break }
            state.entries.removeValue(forKey: key)
            state.bytes -= footprint(of: kept.entry, key: key)
        }
    }
}
