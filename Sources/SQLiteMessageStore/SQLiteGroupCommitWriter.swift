import CoreMetrics
import MessageStore
import NIOPosix
import Synchronization

/// The SQLite store's one writer: it commits concurrent writes together, in one transaction
/// and so one sync of the log, and answers each write only after its transaction committed.
///
/// With `synchronous=FULL` every commit waits for the disk, so one transaction per request
/// spends its time waiting for syncs. Here writes queue up while a commit is on its way to
/// disk; the next transaction takes every write that queued meanwhile (up to
/// ``maximumBatchSize``). No write waits for a timer: an idle writer commits a lone write at
/// once, and batches only grow under concurrency, when they pay for themselves.
///
/// A write is a delivery's message or a reader's `read` (``SQLiteWrite``): both go through
/// the same queue and the same commits, so a reader's change is as durable when answered as
/// a delivery, and each is decided against the row as the previous write in turn left it.
///
/// The connection is used on one thread only, the writer thread; all jobs on it, batches and
/// ``withConnection(_:)`` alike, run one after another.
final class SQLiteGroupCommitWriter: Sendable {
    /// One write waiting for its transaction.
    private struct PendingWrite {
        var write: SQLiteWrite
        var continuation: CheckedContinuation<SQLiteWrite.Answer, any Error>
    }

    private struct Queue {
        var writes: [PendingWrite] = []
        /// Whether a job on the writer thread is committing and will take what is queued.
        var isDraining = false
        var isClosed = false
    }

    /// A write's own statements failed (not `BEGIN` or `COMMIT`), so retrying the others
    /// without it may succeed.
    private struct WriteFailure: Error {
        var underlying: any Error
    }

    /// How the writer keeps the write-ahead log in check: it asks the checkpointer when the
    /// log passes `checkpointPages`, and checkpoints itself between batches past
    /// `maximumLogPages`.
    struct Checkpoints: Sendable {
        var checkpointer: SQLiteCheckpointer
        var logPages: WALPageCount
        var checkpointPages: Int
        var maximumLogPages: Int
    }

    /// The most writes committed in one transaction, which bounds how long one commit takes.
    let maximumBatchSize: Int
    let checkpoints: Checkpoints
    private let connection: SQLiteConnection
    private let thread: NIOThreadPool
    private let queue = Mutex(Queue())
    private let transactionsCommitted = Atomic<Int>(0)
    /// How many writes each commit took (``SQLiteMessageStore/groupCommitBatchSizeMetric``).
    private let batchSizes: Recorder

    /// How many transactions have committed so far; fewer than writes when writes were batched.
    var committedTransactionCount: Int { transactionsCommitted.load(ordering: .relaxed) }

    /// Takes over an open connection (with automatic checkpoints off) and its thread.
    /// - Parameter metricsFactory: Where the batch sizes are recorded.
    init(
        connection: SQLiteConnection, thread: NIOThreadPool, checkpoints: Checkpoints, maximumBatchSize: Int = 256,
        metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance
    ) {
        self.batchSizes = Recorder(label: SQLiteMessageStore.groupCommitBatchSizeMetric, factory: metricsFactory)
        self.connection = connection
        self.thread = thread
        self.checkpoints = checkpoints
        self.maximumBatchSize = max(1, maximumBatchSize)
    }

    /// Stores a version of a message in the next transaction and returns once it committed.
    /// - Throws: the error that stopped its transaction. The write is then not acknowledged;
    ///   it was rolled back, or, if the failure was in syncing the commit itself, it may
    ///   still be on disk, which a redelivery finds as a duplicate.
    func write(_ row: SQLiteRows.Row) async throws -> StoreOutcome {
        guard case .stored(let outcome) = try await submit(.store(row)) else {
            throw MessageStoreError.failed("the SQLite writer answered a message write with another kind of result")
        }
        return outcome
    }

    /// Sets a message's `read` as a reader's statement at server time `time` in the next
    /// transaction, and returns once it committed.
    /// - Returns: the message as stored afterwards, or `nil` when there is none.
    /// - Throws: the error that stopped its transaction, as ``write(_:)`` does.
    func setRead(_ read: Bool, of key: MessageKey, at time: Int64) async throws -> StoredMessage? {
        guard case .readSet(let message) = try await submit(.setRead(read, of: key, at: time)) else {
            throw MessageStoreError.failed("the SQLite writer answered a read status with another kind of result")
        }
        return message
    }

    /// Records an attachment's archived file on its message in the next transaction, and
    /// returns once it committed.
    /// - Returns: whether it was recorded (see ``SQLiteRows/recordArchive(_:attachmentID:of:on:)``).
    /// - Throws: the error that stopped its transaction, as ``write(_:)`` does.
    func recordArchive(_ file: ArchivedFile, attachmentID: String, of key: MessageKey) async throws -> Bool {
        guard case .archiveRecorded(let recorded) = try await submit(.recordArchive(file, attachmentID: attachmentID, of: key)) else {
            throw MessageStoreError.failed("the SQLite writer answered an archive record with another kind of result")
        }
        return recorded
    }

    /// Queues a write for the next transaction and returns its result once it committed.
    private func submit(_ write: SQLiteWrite) async throws -> SQLiteWrite.Answer {
        try await withCheckedThrowingContinuation { continuation in
            let startDraining = queue.withLock { queue -> Bool? in
                guard !queue.isClosed else { return nil }
                queue.writes.append(PendingWrite(write: write, continuation: continuation))
                guard !queue.isDraining else { return false }
                queue.isDraining = true
                return true
            }
            switch startDraining {
            case nil:
                continuation.resume(throwing: MessageStoreError.unavailable("the SQLite store is shut down"))
            case true?:
                thread.submit { [self] state in
                    guard case .active = state else { return failQueuedWrites() }
                    drain()
                }
            case false?:
                break  // the job on the writer thread takes it with the next batch
            }
        }
    }

    /// Runs `body` on the writer thread, between batches.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await thread.runIfActive { [connection] in try body(connection) }
    }

    /// Refuses new writes, lets the batch in progress finish, then closes the connection.
    /// A write still queued is committed by that batch's job, or, if no job had started yet,
    /// answered as unavailable: never left waiting, never acknowledged without its commit.
    func shutdown() async {
        queue.withLock { $0.isClosed = true }
        try? await thread.shutdownGracefully()
        failQueuedWrites()
        await checkpoints.checkpointer.shutdown()
        connection.close()
    }

    // MARK: On the writer thread

    private func drain() {
        while true {
            let batch = queue.withLock { queue -> [PendingWrite] in
                let count = min(queue.writes.count, maximumBatchSize)
                guard count > 0 else {
                    queue.isDraining = false
                    return []
                }
                defer { queue.writes.removeFirst(count) }
                return Array(queue.writes.prefix(count))
            }
            guard !batch.isEmpty else { return }
            let results = commit(batch)
            for (write, result) in zip(batch, results) { write.continuation.resume(with: result) }
            keepTheLogInCheck()
        }
    }

    /// After a batch has been answered, so no request waits for it.
    private func keepTheLogInCheck() {
        let pages = checkpoints.logPages.current
        if pages >= checkpoints.maximumLogPages {
            // No write is in progress here, so this checkpoint can copy the whole log and the
            // next transaction starts the log over. A failure loses nothing; it is retried later.
            _ = try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        } else if pages >= checkpoints.checkpointPages {
            checkpoints.checkpointer.requestCheckpoint()
        }
    }

    /// Commits a batch; when one write's own statements fail, commits the others without it.
    private func commit(_ batch: [PendingWrite]) -> [Result<SQLiteWrite.Answer, any Error>] {
        batchSizes.record(batch.count)
        do {
            return try transaction(batch).map { .success($0) }
        } catch let failure as WriteFailure {
            guard batch.count > 1 else { return [.failure(failure.underlying)] }
            return batch.map { write in
                Result { try transaction([write])[0] }.mapError { ($0 as? WriteFailure)?.underlying ?? $0 }
            }
        } catch {
            return batch.map { _ in .failure(error) }
        }
    }

    private func transaction(_ writes: [PendingWrite]) throws -> [SQLiteWrite.Answer] {
        // IMMEDIATE takes the write lock first, so another process cannot write between a
        // write's decision and the write itself: each is one atomic step.
        try connection.execute("BEGIN IMMEDIATE")
        do {
            var outcomes: [SQLiteWrite.Answer] = []
            outcomes.reserveCapacity(writes.count)
            // One time for the whole transaction: its events are stored together.
            let time = SQLiteMessageStore.nowMilliseconds()
            for write in writes {
                do {
                    outcomes.append(try write.write.apply(at: time, on: connection))
                } catch {
                    throw WriteFailure(underlying: error)
                }
            }
            try connection.execute("COMMIT")
            transactionsCommitted.add(1, ordering: .relaxed)
            return outcomes
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Answers every queued write with an error: the writer thread is gone.
    private func failQueuedWrites() {
        let orphans = queue.withLock { queue -> [PendingWrite] in
            queue.isDraining = false
            defer { queue.writes.removeAll() }
            return queue.writes
        }
        for write in orphans {
            write.continuation.resume(throwing: MessageStoreError.unavailable("the SQLite store is shut down"))
        }
    }
}
