import CoreMetrics
import MessageStore
import NIOCore

/// This process's window on the change feed: the newest events, encoded once, and the live
/// subscribers waiting for them.
///
/// One ``FeedFollower`` reads the store's feed and appends what it read; every subscriber
/// then takes events from here instead of from the store, so a thousand subscribers cost one
/// read of the store, not a thousand. The window holds every event after ``base`` (the
/// feed's end when the follower started, then moved on as old frames are let go), so a
/// subscriber whose position is at or after it misses nothing by reading here; one behind it
/// reads the store until it catches up.
///
/// Each subscriber's queue is bounded without holding a queue per subscriber: it is the part
/// of the window after the subscriber's position. A live subscriber that falls more than
/// ``Limits/maximumLag`` sequence numbers behind the newest event (a slow or stalled reader)
/// is told it is too far behind, so its connection is closed and it resumes from its last
/// cursor. Appending never waits for a subscriber.
actor FeedHub {
    /// How much the window holds and how far behind a subscriber may fall.
    struct Limits: Sendable {
        /// The most frames the window keeps.
        var capacity: Int = 8192
        /// The most bytes of frames the window keeps: messages may be 200 KB and more.
        var maximumBytes: Int = 64 * 1024 * 1024
        /// How many sequence numbers a live subscriber may be behind the newest event.
        var maximumLag: Int64 = 2048
    }

    /// What a subscriber gets when it asks for the events after its position.
    enum Read: Sendable {
        /// Events after the position, in order (only those of the subscriber's order, when it
        /// follows one), and the position to ask after next.
        case frames([FeedFrame], next: FeedPosition)
        /// The window does not reach back to the position: read the store from it.
        case notInWindow
        /// The subscriber fell too far behind and must start again from its last cursor.
        case tooFarBehind
    }

    /// Identifies a subscriber for as long as it is connected.
    typealias SubscriberID = Int

    private struct Subscriber {
        /// The position it last asked after.
        var position: FeedPosition?
        /// Whether it has read from the window (and so is live: lag counts from then on).
        var isLive = false
        var isTooFarBehind = false
        /// Resumed when it is found too far behind.
        var watchdog: CheckedContinuation<Void, Never>?
    }

    private struct Waiter {
        /// The position it waits after.
        var after: FeedPosition
        var orderID: String?
        var continuation: CheckedContinuation<Read, any Error>
    }

    let limits: Limits
    /// The frames after ``base``, in sequence order.
    private var frames: [FeedFrame] = []
    /// The bytes of JSON in ``frames``.
    private var frameBytes = 0
    /// Every event after this position is in ``frames``; `nil` until the follower starts.
    private(set) var base: FeedPosition?
    /// The position after which the follower reads next: the newest event seen, or further.
    private(set) var head: FeedPosition?
    private var subscribers: [SubscriberID: Subscriber] = [:]
    private var waiters: [SubscriberID: Waiter] = [:]
    /// The waiting subscribers that follow every order.
    private var waitingForAll: Set<SubscriberID> = []
    /// The waiting subscribers that follow one order, by its id's bytes (ids that differ only
    /// in Unicode normalization are different orders): a batch wakes only its orders' waiters.
    private var waitingByOrder: [[UInt8]: Set<SubscriberID>] = [:]
    private var nextID = 0
    private var sequenceAtLastSweep: Int64 = 0

    /// How many subscribers are connected, as a gauge (``MetricName/feedSubscribers``).
    private let subscribersGauge: Gauge

    /// - Parameter metricsFactory: Where the number of subscribers is recorded.
    init(limits: Limits = Limits(), metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.limits = limits
        subscribersGauge = Gauge(label: MetricName.feedSubscribers, factory: metricsFactory)
        subscribersGauge.record(0)
    }

    /// How many subscribers are connected.
    var subscriberCount: Int { subscribers.count }

    // MARK: The follower's side

    /// Starts the window at `position`, the feed's end when the follower starts.
    func start(at position: FeedPosition) {
        base = position
        head = position
        frames = []
        frameBytes = 0
    }

    /// Empties the window: the follower stopped reading (nobody was subscribed), so it no
    /// longer holds every event after any position. Whoever waits on it, or comes before it
    /// starts again, reads the store instead, and nobody counts as live until it reads here again.
    func stop() {
        base = nil
        head = nil
        frames = []
        frameBytes = 0
        for (_, waiter) in waiters { waiter.continuation.resume(returning: .notInWindow) }
        waiters = [:]
        waitingForAll = []
        waitingByOrder = [:]
        for id in subscribers.keys { subscribers[id]?.isLive = false }
    }

    /// Adds what the follower read after ``head``: `frames` (possibly none) and the position
    /// to read after next. Wakes the subscribers the new frames concern.
    func append(_ newFrames: [FeedFrame], next: FeedPosition) {
        guard let head, next > head || !newFrames.isEmpty else { return }
        let batch = newFrames.filter { $0.position > head }
        self.head = max(next, batch.last?.position ?? next)
        frames += batch
        frameBytes += batch.reduce(0) { $0 + $1.json.readableBytes }
        let movedBase = letGoOfOldFrames()
        wakeWaiters(with: batch)
        sweepIfDue(force: movedBase)
    }

    /// Past twice the count, or past the bytes, lets go of the oldest frames down to the count
    /// and three quarters of the bytes (in one step, so that it happens seldom), moving
    /// ``base`` past them. Live subscribers still behind them are too far behind.
    /// - Returns: whether it let go of any.
    private func letGoOfOldFrames() -> Bool {
        guard frames.count > 2 * limits.capacity || frameBytes > limits.maximumBytes else { return false }
        var dropped = 0
        var bytes = frameBytes
        while dropped < frames.count, frames.count - dropped > limits.capacity || bytes > limits.maximumBytes / 4 * 3 {
            bytes -= frames[dropped].json.readableBytes
            dropped += 1
        }
        guard dropped > 0 else { return false }
        base = frames[dropped - 1].position
        frames.removeFirst(dropped)
        frameBytes = bytes
        return true
    }

    /// Resumes the waiters whose filter the batch matches. A waiter had seen every frame up to
    /// the head before this batch (or further, having read the store), so what is new to it is
    /// in the batch.
    private func wakeWaiters(with batch: [FeedFrame]) {
        guard let head, !waiters.isEmpty, !batch.isEmpty else { return }
        var candidates = waitingForAll
        if !waitingByOrder.isEmpty {
            for frame in batch {
                if let ids = waitingByOrder[Array(frame.orderID.utf8)] { candidates.formUnion(ids) }
            }
        }
        for id in candidates {
            guard let waiter = waiters[id] else { continue }
            let matching = batch.filter { frame in
                frame.position > waiter.after && (waiter.orderID.map { frame.orderID.hasSameUTF8(as: $0) } ?? true)
            }
            guard !matching.isEmpty else { continue }
            removeWaiter(id)
            subscribers[id]?.position = head
            waiter.continuation.resume(returning: .frames(matching, next: head))
        }
    }

    /// Registers a waiting subscriber, by the orders it follows.
    private func addWaiter(_ id: SubscriberID, _ waiter: Waiter) {
        waiters[id] = waiter
        if let orderID = waiter.orderID {
            waitingByOrder[Array(orderID.utf8), default: []].insert(id)
        } else {
            waitingForAll.insert(id)
        }
    }

    /// Forgets a waiting subscriber; returns what it waited with.
    @discardableResult
    private func removeWaiter(_ id: SubscriberID) -> Waiter? {
        guard let waiter = waiters.removeValue(forKey: id) else { return nil }
        if let orderID = waiter.orderID {
            let key = Array(orderID.utf8)
            waitingByOrder[key]?.remove(id)
            if waitingByOrder[key]?.isEmpty == true { waitingByOrder[key] = nil }
        } else {
            waitingForAll.remove(id)
        }
        return waiter
    }

    /// Every quarter of the allowed lag, and whenever the window let go of frames, finds the
    /// live subscribers that fell too far behind (stuck writing to a slow connection, say):
    /// more than the allowed lag, or behind the window. Wakes their watchdogs.
    private func sweepIfDue(force: Bool) {
        guard let head, force || head.sequence - sequenceAtLastSweep >= max(1, limits.maximumLag / 4) else { return }
        sequenceAtLastSweep = head.sequence
        for (id, subscriber) in subscribers where subscriber.isLive && !subscriber.isTooFarBehind && waiters[id] == nil {
            guard let position = subscriber.position else { continue }
            if head.sequence - position.sequence > limits.maximumLag || base.map({ position < $0 }) == true { markTooFarBehind(id) }
        }
    }

    private func markTooFarBehind(_ id: SubscriberID) {
        subscribers[id]?.isTooFarBehind = true
        subscribers[id]?.watchdog?.resume()
        subscribers[id]?.watchdog = nil
    }

    // MARK: The subscribers' side

    /// Registers a subscriber; ``unsubscribe(_:)`` must follow when it disconnects.
    func subscribe() -> SubscriberID {
        nextID += 1
        subscribers[nextID] = Subscriber()
        subscribersGauge.record(subscribers.count)
        return nextID
    }

    /// Forgets a subscriber, releasing anything it waits for.
    func unsubscribe(_ id: SubscriberID) {
        if let waiter = removeWaiter(id) { waiter.continuation.resume(throwing: CancellationError()) }
        subscribers.removeValue(forKey: id)?.watchdog?.resume()
        subscribersGauge.record(subscribers.count)
    }

    /// Returns once the subscriber is found too far behind (or is gone).
    func untilTooFarBehind(_ id: SubscriberID) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                guard let subscriber = subscribers[id], !subscriber.isTooFarBehind, !Task.isCancelled else { return continuation.resume() }
                subscribers[id]?.watchdog = continuation
            }
        } onCancel: {
            Task { await self.releaseWatchdog(id) }
        }
    }

    private func releaseWatchdog(_ id: SubscriberID) {
        subscribers[id]?.watchdog?.resume()
        subscribers[id]?.watchdog = nil
    }

    /// The events after `position` (of `orderID` only, when given), at most `limit`; waits
    /// while there are none yet.
    func read(_ id: SubscriberID, after position: FeedPosition, orderID: String?, limit: Int) async throws -> Read {
        guard var subscriber = subscribers[id] else { throw CancellationError() }
        guard !subscriber.isTooFarBehind else { return .tooFarBehind }
        subscriber.position = position
        guard let base, let head, position >= base else {
            subscribers[id] = subscriber
            // A live subscriber left behind by the window fell further behind than it may.
            if subscriber.isLive, self.base != nil {
                markTooFarBehind(id)
                return .tooFarBehind
            }
            return .notInWindow
        }
        subscriber.isLive = true
        if head.sequence - position.sequence > limits.maximumLag {
            subscribers[id] = subscriber
            markTooFarBehind(id)
            return .tooFarBehind
        }
        subscribers[id] = subscriber
        let start = firstIndex(after: position)
        var matching: [FeedFrame] = []
        var index = start
        while index < frames.count, matching.count < limit {
            if orderID.map({ frames[index].orderID.hasSameUTF8(as: $0) }) ?? true { matching.append(frames[index]) }
            index += 1
        }
        if !matching.isEmpty || index < frames.count {
            // A full page, or a page of one order's events that stopped within the window.
            let next = index < frames.count ? frames[index - 1].position : max(head, position)
            return .frames(matching, next: next)
        }
        // Nothing new for it: wait for the follower's next batch.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard !Task.isCancelled else { return continuation.resume(throwing: CancellationError()) }
                addWaiter(id, Waiter(after: position, orderID: orderID, continuation: continuation))
            }
        } onCancel: {
            Task { await self.cancelWait(id) }
        }
    }

    private func cancelWait(_ id: SubscriberID) {
        removeWaiter(id)?.continuation.resume(throwing: CancellationError())
    }

    /// The index of the first frame after `position` (binary search: frames are in order).
    private func firstIndex(after position: FeedPosition) -> Int {
        var low = 0
        var high = frames.count
        while low < high {
            let middle = (low + high) / 2
            if frames[middle].position <= position { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
