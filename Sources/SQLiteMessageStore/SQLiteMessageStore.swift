import MessageStore
import CSQLite
import CoreMetrics
import Foundation
import Logging
import NIOPosix
import Synchronization

/// The embedded store: one SQLite file in WAL mode, with `synchronous=FULL` so that a write
/// returns only after its commit is on disk.
///
/// Rows keep the spec's item shape (see ``SQLiteRows``). SQLite's calls block, so they run on
/// the store's own threads, never on Swift's cooperative pool: one writer thread with one
/// connection (SQLite allows one writer at a time anyway), which commits concurrent writes
/// together (see ``SQLiteGroupCommitWriter``), and a few reader threads whose connections
/// read in parallel with the writer, as WAL allows.
///
/// Readers' queries read by key: a page is a range of an index from its position on, never
/// an OFFSET. Each order's summary (counts, last message) is kept by the database's own
/// triggers in the transaction of every write to its messages (see ``SQLiteReaderSchema``),
/// and a reader's `read` goes through the writer like a delivery.
///
/// A listing (``listing(forOrder:type:unlessUnchangedSince:)``) streams: it reads the order's
/// version, its count and then its rows in chunks inside one read transaction (one snapshot),
/// on a reader connection that it keeps between chunks, while the reader thread goes back to
/// other work (see ``SQLiteListingCursor``).
///
/// It keeps the archiver's ledger too (issue 14): archived files on their messages' rows,
/// and jobs and checkpoint in tables of their own (``SQLiteArchiveJobs``). One process
/// serves a file: opening it releases every job's claim.
public final class SQLiteMessageStore: MessageStore {
    /// How to open the store.
    public struct Configuration: Sendable {
        /// The database file; its folder is created when missing.
        public var path: String
        /// How many reads may run at once.
        public var readerCount: Int
        /// How long a connection waits for another process's lock before giving up.
        public var busyTimeout: Duration
        /// Write-ahead-log pages after a commit from which the background checkpointer is
        /// asked to copy the log into the database file (SQLite's own default threshold).
        public var checkpointPages: Int
        /// How much a streaming listing reads at a time (see ``ListingChunkLimits``).
        public var listingChunkLimits: ListingChunkLimits
        /// Log pages beyond which the writer checkpoints itself between batches, because the
        /// background checkpointer cannot keep up: this bounds the log (and so the disk it
        /// takes, and the time readers spend searching it) under sustained writes.
        public var maximumLogPages: Int
        /// How long a readiness probe's outcome stands: `/ready` writes (and syncs) at most
        /// once per interval, however often it is asked.
        public var readinessInterval: Duration
        /// How long the change feed keeps events (`FEED_RETENTION_DAYS`).
        public var feedRetention: FeedRetention
        /// Where the store records its own metrics (the group commit's batch sizes); nothing
        /// is recorded by default.
        public var metricsFactory: any MetricsFactory

        /// Creates a configuration.
        public init(
            path: String, readerCount: Int = 2, busyTimeout: Duration = .seconds(5), checkpointPages: Int = 1000,
            maximumLogPages: Int = 16_000, readinessInterval: Duration = .seconds(2),
            listingChunkLimits: ListingChunkLimits = ListingChunkLimits(), feedRetention: FeedRetention = .default,
            metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance
        ) {
            self.metricsFactory = metricsFactory
            self.feedRetention = feedRetention
            self.listingChunkLimits = listingChunkLimits
            self.path = path
            self.readerCount = max(1, readerCount)
            self.busyTimeout = busyTimeout
            self.checkpointPages = max(1, checkpointPages)
            self.maximumLogPages = max(self.checkpointPages, maximumLogPages)
            self.readinessInterval = readinessInterval
        }
    }

    /// The histogram of how many writes each group commit took (a value histogram in the
    /// configuration's ``Configuration/metricsFactory``): near 1 when idle, larger under
    /// concurrent writes.
    public static let groupCommitBatchSizeMetric = "qualia_webhook_sqlite_group_commit_batch_size"

    private let configuration: Configuration
    /// How long the change feed keeps events.
    var feedRetention: FeedRetention { configuration.feedRetention }
    let writer: SQLiteGroupCommitWriter
    private let idleReaders = Mutex<[SQLiteConnection]>([])
    private let checkedOutReaders = Atomic<Int>(0)
    private let isShutDown = Atomic<Bool>(false)
    private let readerThreads: NIOThreadPool
    private let readiness: ReadinessCheck
    /// Set when a message write failed, cleared when one succeeds or a full-size probe does.
    private let lastWriteFailed = Atomic<Bool>(false)

    private init(configuration: Configuration, writer: SQLiteGroupCommitWriter, readerThreads: NIOThreadPool) {
        self.configuration = configuration
        self.writer = writer
        self.readerThreads = readerThreads
        self.readiness = ReadinessCheck(interval: configuration.readinessInterval)
    }

    /// Opens the database, creating its folder, file and schema when missing, and checks
    /// that this process can write to it (a store that cannot write must not look ready).
    /// - Throws: ``MessageStoreError`` naming the path when the file cannot be opened, set
    ///   up or written.
    public static func open(_ configuration: Configuration, logger: Logger) async throws -> SQLiteMessageStore {
        let writerThread = NIOThreadPool(numberOfThreads: 1)
        writerThread.start()
        do {
            let (connection, filledSummaries, logPages) = try await writerThread.runIfActive {
                let (connection, filledSummaries) = try Self.openWriter(configuration)
                return (connection, filledSummaries, WALPageCount(watching: connection))
            }
            if filledSummaries > 0 {
                logger.notice(
                    "SQLite store filled the order summaries of existing messages",
                    metadata: ["sqlite_path": .string(configuration.path), "order_count": .stringConvertible(filledSummaries)]
                )
            }
            let checkpointer = try await SQLiteCheckpointer(path: configuration.path, busyTimeout: configuration.busyTimeout)
            let writer = SQLiteGroupCommitWriter(
                connection: connection, thread: writerThread,
                checkpoints: .init(
                    checkpointer: checkpointer, logPages: logPages, checkpointPages: configuration.checkpointPages,
                    maximumLogPages: configuration.maximumLogPages
                ),
                metricsFactory: configuration.metricsFactory
            )
            let readerThreads = NIOThreadPool(numberOfThreads: configuration.readerCount)
            readerThreads.start()
            logger.info("SQLite store opened", metadata: ["sqlite_path": .string(configuration.path)])
            return SQLiteMessageStore(
                configuration: configuration, writer: writer, readerThreads: readerThreads
            )
        } catch {
            try? await writerThread.shutdownGracefully()
            let cause = Self.storeError(error)
            throw MessageStoreError(cause.kind, reason: "cannot write to the SQLite database at \(configuration.path): \(cause.reason)")
        }
    }

    public func store(_ message: StoredMessage) async throws -> StoreOutcome {
        try await writing { [writer] in try await writer.write(SQLiteRows.Row(message)) }
    }

    /// Runs a write through the writer, keeping the readiness check informed: a write that
    /// failed because the store is unavailable makes the next probe check at once.
    func writing<T: Sendable>(_ write: @Sendable () async throws -> T) async throws -> T {
        try checkOpen()
        do {
            let result = try await write()
            lastWriteFailed.store(false, ordering: .relaxed)
            return result
        } catch {
            let storeError = Self.storeError(error)
            if storeError.kind == .unavailable, !isShutDown.load(ordering: .acquiring) {
                lastWriteFailed.store(true, ordering: .relaxed)
                await readiness.invalidate()
            }
            throw storeError
        }
    }

    public func page(ofOrder orderID: String, type: MessageType?, after sortKey: String?, limit: Int) async throws -> Page<StoredMessage, String> {
        let limit = try Self.pageLimit(limit)
        return try await onReader { connection in
            try SQLiteRows.page(ofOrder: orderID, type: type, after: sortKey, limit: limit, on: connection)
        }
    }

    public func message(_ key: MessageKey) async throws -> StoredMessage? {
        try await onReader { connection in try SQLiteRows.message(key, on: connection) }
    }

    /// Goes through the writer's queue and group commit like a delivery (see
    /// ``SQLiteGroupCommitWriter``), so it is durable when it returns.
    public func setRead(_ read: Bool, of key: MessageKey, at time: Int64) async throws -> StoredMessage? {
        try await writing { [writer] in try await writer.setRead(read, of: key, at: time) }
    }

    public func orders(after position: OrderPosition?, limit: Int, unreadOnly: Bool) async throws -> Page<OrderSummary, OrderPosition> {
        let limit = try Self.pageLimit(limit)
        return try await onReader { connection in
            try SQLiteRows.orders(after: position, limit: limit, unreadOnly: unreadOnly, on: connection)
        }
    }

    public func conversation(ofOrder orderID: String, thread threadID: String?, after position: ConversationPosition?, limit: Int) async throws
        -> Page<StoredMessage, ConversationPosition>
    {
        let limit = try Self.pageLimit(limit)
        return try await onReader { connection in
            try SQLiteRows.conversation(ofOrder: orderID, thread: threadID, after: position, limit: limit, on: connection)
        }
    }

    public func threads(ofOrder orderID: String) async throws -> [ThreadSummary] {
        try await onReader { connection in try SQLiteRows.threads(ofOrder: orderID, on: connection) }
    }

    /// The most items one page read returns, whatever its caller asks: a page may hold fewer
    /// than asked, and its `next` says where the rest starts.
    static let largestPage = 10_000

    /// The number of items to read for a page of `limit`: at least one (a page of none could
    /// never say where the next starts), at most ``largestPage``.
    static func pageLimit(_ limit: Int) throws -> Int {
        guard limit > 0 else { throw MessageStoreError.failed("a page's limit must be at least 1 (it was \(limit))") }
        return min(limit, largestPage)
    }

    public func messages(forOrder orderID: String, type: MessageType?) async throws -> [StoredMessage] {
        try await onReader { connection in
            try SQLiteRows.messages(forOrder: orderID, type: type, on: connection)
        }
    }

    public func listing(forOrder orderID: String, type: MessageType?, unlessUnchangedSince knownVersion: Int64?) async throws -> ListingRead {
        if let knownVersion, try versionIfReaderIsIdle(ofOrder: orderID) == knownVersion {
            return .unchanged
        }
        let limits = configuration.listingChunkLimits
        return try await onReaderThread { [self] in
            let connection = try checkOutReader()
            var statement: SQLiteStatement?
            do {
                // One snapshot from the first read on: the version labels exactly these rows,
                // and the count is the number of rows the statement will step.
                try connection.executeCached("BEGIN")
                let version = try SQLiteRows.version(ofOrder: orderID, on: connection)
                if version == knownVersion {
                    endReadTransaction(on: connection, statement: nil)
                    return .unchanged
                }
                let listing = try SQLiteRows.listingStatement(forOrder: orderID, type: type, on: connection)
                statement = listing
                let first = try SQLiteRows.nextChunk(of: listing, limits: limits)
                // An order that fits its first chunk (most of them) is counted by it; a larger
                // one is counted by a query in the same snapshot.
                let count = first.isLast ? first.messages.count : try SQLiteRows.count(forOrder: orderID, type: type, on: connection)
                let cursor = SQLiteListingCursor(
                    store: self, connection: connection, statement: listing, firstChunk: first.messages, isLast: first.isLast,
                    limits: limits
                )
                return .listing(MessageListing(count: count, version: version, cursor: cursor))
            } catch {
                endReadTransaction(on: connection, statement: statement)
                throw error
            }
        }
    }

    /// An order's version, read on the caller's thread with an idle reader connection, or
    /// `nil` when none is idle.
    ///
    /// The one SQLite call made off the store's threads, on purpose: it is a lookup of one
    /// key in a small, hot table (a few pages, in SQLite's or the system's cache), which
    /// takes microseconds, while a hop to a reader thread and back costs more than the rest
    /// of a reused listing (it was a third of the time of such a `GET`).
    private func versionIfReaderIsIdle(ofOrder orderID: String) throws -> Int64? {
        try checkOpen()
        guard let connection = idleReaders.withLock({ $0.popLast() }) else { return nil }
        defer { idleReaders.withLock { $0.append(connection) } }
        do {
            return try SQLiteRows.version(ofOrder: orderID, on: connection)
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Ready when a reader answers and a real, synced write succeeds (see
    /// ``SQLiteRows/probeWrite(bytes:on:)``), checked at most once per `readinessInterval`,
    /// and at once after a message write failed. After such a failure the probe writes as
    /// much as the largest message, so that the store is called ready again only when a
    /// message would fit.
    public func checkReadiness() async throws {
        try checkOpen()
        try await readiness.requireReady { [self] in
            try await onReader { connection in
                _ = try connection.scalarText("SELECT count(*) FROM sqlite_master")
            }
            let recovering = lastWriteFailed.load(ordering: .relaxed)
            try await onWriter { connection in
                try SQLiteRows.probeWrite(bytes: recovering ? Self.largestMessageBytes : 0, on: connection)
            }
            if recovering { lastWriteFailed.store(false, ordering: .relaxed) }
        }
    }

    /// About the largest message a row holds (the validation limits keep a message under
    /// DynamoDB's 400 KB item size).
    private static let largestMessageBytes = 400 * 1024

    public func shutdown() async throws {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // Every queued write is committed or answered as unavailable: none is left hanging,
        // and none is acknowledged without its commit.
        await writer.shutdown()
        try? await readerThreads.shutdownGracefully()
        idleReaders.withLock { readers in
            for reader in readers { reader.close() }
            readers.removeAll()
        }
    }

    /// How many write transactions this store has committed, to check that writes are batched.
    var committedTransactionCount: Int { writer.committedTransactionCount }

    /// How many checkpoints the background checkpointer has run.
    var backgroundCheckpointCount: Int { writer.checkpoints.checkpointer.completedCount }

    /// A pragma's value on the writer's connection, to check its settings.
    func writerPragma(_ name: String) async throws -> String? {
        try await onWriter { try $0.scalarText("PRAGMA \(name)") }
    }

    // MARK: Threads and connections

    func onWriter<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try checkOpen()
        do {
            return try await writer.withConnection(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    func onReader<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await onReaderThread { [self] in
            let connection = try checkOutReader()
            defer { checkIn(connection) }
            return try body(connection)
        }
    }

    /// Runs blocking work on a reader thread; failures become ``MessageStoreError``.
    func onReaderThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try checkOpen()
        do {
            return try await readerThreads.runIfActive(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    /// An idle reader connection, or a new one when none is idle.
    private func checkOutReader() throws -> SQLiteConnection {
        let connection = try idleReaders.withLock { $0.popLast() } ?? openReader()
        checkedOutReaders.add(1, ordering: .relaxed)
        return connection
    }

    /// Takes a reader connection back; after shutdown, closes it instead.
    private func checkIn(_ connection: SQLiteConnection) {
        checkedOutReaders.subtract(1, ordering: .relaxed)
        idleReaders.withLock { readers in
            // Checked under the lock that shutdown closes the idle readers under, so a
            // connection given back during shutdown is closed by one or the other.
            if isShutDown.load(ordering: .acquiring) {
                connection.close()
            } else {
                readers.append(connection)
            }
        }
    }

    /// Ends a read transaction (resetting the listing statement stepped inside it) and gives
    /// the connection back. A connection whose transaction cannot be ended is closed, so it
    /// never keeps a snapshot open in the pool.
    ///
    /// Runs on whichever thread calls it, a cooperative one included: resetting a statement
    /// and committing a transaction that wrote nothing only releases a read lock (no disk
    /// I/O), and this must also work when a listing is dropped or its task cancelled.
    func endReadTransaction(on connection: SQLiteConnection, statement: SQLiteStatement?) {
        statement?.reset()
        do {
            if !connection.isAutocommit { try connection.executeCached("COMMIT") }
        } catch {
            connection.close()
            checkedOutReaders.subtract(1, ordering: .relaxed)
            return
        }
        checkIn(connection)
    }

    /// How many reader connections are out of the pool right now (reads and listings in
    /// progress), to check that listings give theirs back.
    var readersInUse: Int { checkedOutReaders.load(ordering: .relaxed) }

    private func checkOpen() throws {
        if isShutDown.load(ordering: .acquiring) { throw MessageStoreError.unavailable("the SQLite store is shut down") }
    }

    /// Opens the writer's connection, setting up or migrating the schema.
    /// - Returns: the connection, and how many orders' summaries were filled from existing
    ///   messages (a database from before the reader's side).
    private static func openWriter(_ configuration: Configuration) throws -> (SQLiteConnection, filledSummaries: Int) {
        let folder = URL(fileURLWithPath: configuration.path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let connection = try SQLiteConnection(path: configuration.path)
        try connection.execute("PRAGMA busy_timeout = \(configuration.busyTimeout.milliseconds)")
        let journalMode = try connection.scalarText("PRAGMA journal_mode = WAL")
        guard journalMode?.lowercased() == "wal" else {
            throw MessageStoreError.failed("SQLite refused WAL mode (journal_mode is \(journalMode ?? "unknown"))")
        }
        // FULL: in WAL mode every commit syncs the log before it returns.
        try connection.execute("PRAGMA synchronous = FULL")
        // Checkpoints run on their own thread instead (see ``SQLiteCheckpointer``).
        try connection.execute("PRAGMA wal_autocheckpoint = 0")
        let filledSummaries = try migrate(connection)
        // SQLite opens a file it may not write read-only without a word; every write would
        // then fail. Refuse at start instead, and prove a real write works.
        guard !connection.isReadOnly else {
            throw MessageStoreError.failed("the file is read-only for this process (check its owner and mode, and its folder's)")
        }
        try SQLiteRows.probeWrite(on: connection)
        return (connection, filledSummaries)
    }

    /// Creates or completes the schema in one transaction, taking the write lock first: a
    /// crash leaves the old schema or the whole new one (never summaries left unfilled), and
    /// instances opening one file at once set it up one after the other. It also releases
    /// every archive job's claim (see ``SQLiteArchiveJobs/releaseEveryClaim(on:)``): one
    /// process serves a file, so a claim found on opening is a crashed process's.
    /// - Returns: how many orders' summaries were filled from existing messages.
    private static func migrate(_ connection: SQLiteConnection) throws -> Int {
        try connection.execute("BEGIN IMMEDIATE")
        do {
            try connection.execute(SQLiteRows.schemaSQL)
            try SQLiteRows.migrate(on: connection)
            let filledSummaries = try SQLiteReaderSchema.install(on: connection)
            try connection.execute(SQLiteFeed.schemaSQL)
            try SQLiteSearchIndex.install(on: connection)
            try connection.execute(SQLiteArchiveJobs.schemaSQL)
            try SQLiteArchiveJobs.releaseEveryClaim(on: connection)
            try connection.execute("COMMIT")
            return filledSummaries
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    private func openReader() throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: configuration.path)
        try connection.execute("PRAGMA busy_timeout = \(configuration.busyTimeout.milliseconds)")
        try connection.execute("PRAGMA query_only = ON")
        return connection
    }

    /// Maps any failure to the store's error: busy, locked, I/O and full-disk errors may pass.
    static func storeError(_ error: any Error) -> MessageStoreError {
        switch error {
        case let error as MessageStoreError:
            return error
        case let error as SQLiteError:
            switch error.primaryCode {
            case SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_PROTOCOL, SQLITE_NOMEM:
                return .unavailable(error.description)
            default:
                return .failed(error.description)
            }
        case is NIOThreadPoolError.ThreadPoolInactive, is CancellationError:
            return .unavailable("the SQLite store is shut down or the request was cancelled")
        default:
            return .failed(String(describing: error))
        }
    }
}
