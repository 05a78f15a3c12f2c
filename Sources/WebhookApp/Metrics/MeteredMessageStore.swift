import CoreMetrics
import MessageStore

/// A ``MessageStore`` that forwards every call to another and counts and times it, by
/// operation and outcome (``MetricName/storeCalls``, ``MetricName/storeCallDuration``).
///
/// The outcome is `failure` when the call threw anything but an answer about the request
/// itself (an expired feed position, a search that needs a narrower window): those mean the
/// store worked, and count as `success`. Every series exists from the start, at zero, so a
/// rate of failures is defined before the first one. ``buildApplication(_:store:blobs:metrics:logger:)``
/// wraps the store once; the store under it is unchanged, and tests that need the concrete
/// store keep the one they opened.
struct MeteredMessageStore: MessageStore {
    /// What a call does, as its `operation` label.
    enum Operation: String, CaseIterable, Sendable {
        case store, messages, listing, page, message, orders, conversation, threads, feed, search
        case setRead = "set_read", feedEnd = "feed_end", pruneFeed = "prune_feed", checkReadiness = "check_readiness"
        case recordArchive = "record_archive", archiveCheckpoint = "archive_checkpoint", enqueueArchiveJobs = "enqueue_archive_jobs"
        case claimArchiveJobs = "claim_archive_jobs", renewArchiveClaim = "renew_archive_claim"
        case rescheduleArchiveJob = "reschedule_archive_job", finishArchiveJob = "finish_archive_job", archiveJobCount = "archive_job_count"
    }

    /// One operation's series for one outcome.
    private struct Series: Sendable {
        var calls: Counter
        var duration: CoreMetrics.Timer

        init(_ operation: Operation, outcome: String, factory: any MetricsFactory) {
            let dimensions = [("operation", operation.rawValue), ("outcome", outcome)]
            calls = Counter(label: MetricName.storeCalls, dimensions: dimensions, factory: factory)
            duration = CoreMetrics.Timer(label: MetricName.storeCallDuration, dimensions: dimensions, factory: factory)
        }

        func record(since start: ContinuousClock.Instant) {
            calls.increment()
            duration.recordElapsed(since: start)
        }
    }

    /// The store that does the work.
    let base: any MessageStore
    private let successes: [Operation: Series]
    private let failures: [Operation: Series]

    /// Wraps `base`, making every operation's series in `factory` now.
    init(_ base: any MessageStore, factory: any MetricsFactory) {
        self.base = base
        successes = Dictionary(uniqueKeysWithValues: Operation.allCases.map { ($0, Series($0, outcome: "success", factory: factory)) })
        failures = Dictionary(uniqueKeysWithValues: Operation.allCases.map { ($0, Series($0, outcome: "failure", factory: factory)) })
    }

    private func measure<T>(_ operation: Operation, _ call: () async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        do {
            let result = try await call()
            successes[operation]?.record(since: start)
            return result
        } catch let error as FeedPositionExpired {
            successes[operation]?.record(since: start)
            throw error
        } catch let error as SearchWindowRequired {
            successes[operation]?.record(since: start)
            throw error
        } catch {
            failures[operation]?.record(since: start)
            throw error
        }
    }

    func store(_ message: StoredMessage) async throws -> StoreOutcome {
        try await measure(.store) { try await base.store(message) }
    }

    func messages(forOrder orderID: String, type: MessageType?) async throws -> [StoredMessage] {
        try await measure(.messages) { try await base.messages(forOrder: orderID, type: type) }
    }

    /// Times the listing's opening; its chunks are read afterwards, outside the measurement.
    func listing(forOrder orderID: String, type: MessageType?, unlessUnchangedSince knownVersion: Int64?) async throws -> ListingRead {
        try await measure(.listing) { try await base.listing(forOrder: orderID, type: type, unlessUnchangedSince: knownVersion) }
    }

    func page(ofOrder orderID: String, type: MessageType?, after sortKey: String?, limit: Int) async throws -> Page<StoredMessage, String> {
        try await measure(.page) { try await base.page(ofOrder: orderID, type: type, after: sortKey, limit: limit) }
    }

    func message(_ key: MessageKey) async throws -> StoredMessage? {
        try await measure(.message) { try await base.message(key) }
    }

    func setRead(_ read: Bool, of key: MessageKey, at time: Int64) async throws -> StoredMessage? {
        try await measure(.setRead) { try await base.setRead(read, of: key, at: time) }
    }

    func orders(after position: OrderPosition?, limit: Int, unreadOnly: Bool) async throws -> Page<OrderSummary, OrderPosition> {
        try await measure(.orders) { try await base.orders(after: position, limit: limit, unreadOnly: unreadOnly) }
    }

    func conversation(ofOrder orderID: String, thread threadID: String?, after position: ConversationPosition?, limit: Int) async throws
        -> Page<StoredMessage, ConversationPosition>
    {
        try await measure(.conversation) { try await base.conversation(ofOrder: orderID, thread: threadID, after: position, limit: limit) }
    }

    func threads(ofOrder orderID: String) async throws -> [ThreadSummary] {
        try await measure(.threads) { try await base.threads(ofOrder: orderID) }
    }

    func feed(after position: FeedPosition?, orderID: String?, limit: Int) async throws -> FeedPage {
        try await measure(.feed) { try await base.feed(after: position, orderID: orderID, limit: limit) }
    }

    func feedEnd() async throws -> FeedPosition {
        try await measure(.feedEnd) { try await base.feedEnd() }
    }

    func pruneFeed() async throws -> Int {
        try await measure(.pruneFeed) { try await base.pruneFeed() }
    }

    var feedPollInterval: Duration { base.feedPollInterval }

    func search(_ request: SearchRequest) async throws -> Page<StoredMessage, SearchPosition> {
        try await measure(.search) { try await base.search(request) }
    }

    func checkReadiness() async throws {
        try await measure(.checkReadiness) { try await base.checkReadiness() }
    }

    func shutdown() async throws {
        try await base.shutdown()
    }

    // MARK: ArchiveLedger

    func recordArchive(_ file: ArchivedFile, attachmentID: String, of key: MessageKey) async throws -> Bool {
        try await measure(.recordArchive) { try await base.recordArchive(file, attachmentID: attachmentID, of: key) }
    }

    func archiveCheckpoint() async throws -> FeedPosition? {
        try await measure(.archiveCheckpoint) { try await base.archiveCheckpoint() }
    }

    func enqueueArchiveJobs(_ jobs: [ArchiveJob], checkpoint position: FeedPosition) async throws {
        try await measure(.enqueueArchiveJobs) { try await base.enqueueArchiveJobs(jobs, checkpoint: position) }
    }

    func claimArchiveJobs(dueBy now: Int64, limit: Int, worker: String, claimUntil: Int64) async throws -> [ArchiveJob] {
        try await measure(.claimArchiveJobs) { try await base.claimArchiveJobs(dueBy: now, limit: limit, worker: worker, claimUntil: claimUntil) }
    }

    func renewArchiveClaim(_ id: ArchiveJob.ID, worker: String, claimUntil: Int64) async throws -> Bool {
        try await measure(.renewArchiveClaim) { try await base.renewArchiveClaim(id, worker: worker, claimUntil: claimUntil) }
    }

    func rescheduleArchiveJob(_ job: ArchiveJob, worker: String) async throws {
        try await measure(.rescheduleArchiveJob) { try await base.rescheduleArchiveJob(job, worker: worker) }
    }

    func finishArchiveJob(_ id: ArchiveJob.ID) async throws {
        try await measure(.finishArchiveJob) { try await base.finishArchiveJob(id) }
    }

    func archiveJobCount() async throws -> Int {
        try await measure(.archiveJobCount) { try await base.archiveJobCount() }
    }
}
