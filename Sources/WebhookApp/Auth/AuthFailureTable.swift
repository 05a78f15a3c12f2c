/// The records of ``AuthFailureLimiter``: a map with a hard cap on its size where every
/// operation, eviction included, takes constant time, never a scan.
///
/// Records live in one array of slots, found through a dictionary, and each slot sits in one
/// of two doubly linked lists threaded through the array by index:
/// - *watching*: records counting failures, most recently stored first;
/// - *locked*: locked-out records, in the order they were locked, which (the lockout having one
///   length) is the order their lockouts end.
///
/// When a new key arrives and the table is full, one record goes, in this order of preference:
/// 1. the locked record whose lockout ends first, if it has already ended (nothing of it is
///    worth keeping);
/// 2. the watching record stored least recently: someone flooding the table with new addresses
///    only pushes out other failure counts (their own first), never a lockout in force;
/// 3. when every record is a lockout in force, the one that ends first. Memory stays bounded
///    even then, at the price that the oldest lockout ends early.
struct AuthFailureTable {
    typealias Key = AuthFailureLimiter.Key
    typealias Record = AuthFailureLimiter.Record

    /// The two lists a record can be in, by whether it is locked.
    private enum Queue: Int {
        case watching = 0
        case locked = 1

        init(_ record: Record) { self = record.lockedUntil == nil ? .watching : .locked }
    }

    /// One record, with its key and its neighbours in its list.
    private struct Slot {
        var key: Key
        var record: Record
        /// The slot stored just after this one in its list (toward the head), or -1.
        var newer: Int32 = -1
        /// The slot stored just before this one in its list (toward the tail), or -1.
        var older: Int32 = -1
    }

    /// Both ends of one list; -1 when it is empty.
    private struct Ends {
        var newest: Int32 = -1
        var oldest: Int32 = -1
    }

    /// The most records kept at once.
    let capacity: Int
    private var positions: [Key: Int32] = [:]
    private var slots: [Slot] = []
    private var freeSlots: [Int32] = []
    private var lists = [Ends(), Ends()]

    /// Creates an empty table that keeps at most `capacity` records.
    init(capacity: Int) {
        precondition(capacity > 0 && capacity < Int(Int32.max), "capacity out of range")
        self.capacity = capacity
    }

    /// How many records are kept.
    var count: Int { positions.count }

    /// The record of `key`, without changing its place.
    subscript(key: Key) -> Record? {
        positions[key].map { slots[Int($0)].record }
    }

    /// Forgets the record of `key`, if any.
    mutating func remove(_ key: Key) {
        guard let position = positions.removeValue(forKey: key) else { return }
        unlink(position)
        freeSlots.append(position)
    }

    /// Keeps `record` for `key` as the most recent of its list; when the key is new and the
    /// table is full, first evicts one record (see the type's documentation).
    mutating func store(_ record: Record, for key: Key, now: ContinuousClock.Instant) {
        if let position = positions[key] {
            unlink(position)
            slots[Int(position)].record = record
            link(position)
            return
        }
        if positions.count >= capacity { evictOne(now: now) }
        let slot = Slot(key: key, record: record)
        let position: Int32
        if let free = freeSlots.popLast() {
            position = free
            slots[Int(free)] = slot
        } else {
            position = Int32(slots.count)
            slots.append(slot)
        }
        positions[key] = position
        link(position)
    }

    private mutating func evictOne(now: ContinuousClock.Instant) {
        let oldestLock = lists[Queue.locked.rawValue].oldest
        let oldestWatching = lists[Queue.watching.rawValue].oldest
        let victim: Int32
        if oldestLock >= 0, let until = slots[Int(oldestLock)].record.lockedUntil, until <= now {
            victim = oldestLock
        } else if oldestWatching >= 0 {
            victim = oldestWatching
        } else {
            victim = oldestLock
        }
        guard victim >= 0 else { return }
        remove(slots[Int(victim)].key)
    }

    /// Puts a slot at the newest end of the list its record belongs in.
    private mutating func link(_ position: Int32) {
        let queue = Queue(slots[Int(position)].record).rawValue
        let newest = lists[queue].newest
        slots[Int(position)].newer = -1
        slots[Int(position)].older = newest
        if newest >= 0 { slots[Int(newest)].newer = position } else { lists[queue].oldest = position }
        lists[queue].newest = position
    }

    /// Takes a slot out of the list its record is in.
    private mutating func unlink(_ position: Int32) {
        let queue = Queue(slots[Int(position)].record).rawValue
        let newer = slots[Int(position)].newer
        let older = slots[Int(position)].older
        if newer >= 0 { slots[Int(newer)].older = older } else { lists[queue].newest = older }
        if older >= 0 { slots[Int(older)].newer = newer } else { lists[queue].oldest = newer }
    }
}
