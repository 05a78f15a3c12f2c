import MessageStore
import CSQLite
import NIOPosix
import Synchronization

/// Copies the write-ahead log back into the database file on a thread of its own, so the
/// writer never stops to do it.
///
/// SQLite's automatic checkpoint runs on the connection that commits, inside the commit that
/// crosses its threshold: under load, every few thousand writes one batch waited for a
/// checkpoint's copy and syncs, which made the slowest answers (p99.9) several times slower.
/// The writer turns that off (`wal_autocheckpoint = 0`) and asks this checkpointer instead,
/// which runs `PASSIVE` checkpoints: they copy what they can without blocking the writer or
/// readers. When writes outpace it, the writer runs one itself between batches (see
/// ``SQLiteGroupCommitWriter``), which bounds the log.
final class SQLiteCheckpointer: Sendable {
    private let connection: SQLiteConnection
    private let thread: NIOThreadPool
    private let isPending = Atomic<Bool>(false)
    private let completed = Atomic<Int>(0)

    /// Opens the checkpointer's own connection to the database at `path`.
    init(path: String, busyTimeout: Duration) async throws {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        do {
            connection = try await thread.runIfActive {
                let connection = try SQLiteConnection(path: path)
                try connection.execute("PRAGMA busy_timeout = \(busyTimeout.milliseconds)")
                // FULL, as the writer: the log is synced before it is copied, the file after.
                try connection.execute("PRAGMA synchronous = FULL")
                return connection
            }
        } catch {
            try? await thread.shutdownGracefully()
            throw error
        }
        self.thread = thread
    }

    /// How many checkpoints have run so far.
    var completedCount: Int { completed.load(ordering: .relaxed) }

    /// Starts a checkpoint unless one is already waiting or running; returns at once.
    func requestCheckpoint() {
        guard !isPending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        thread.submit { [self] state in
            defer { isPending.store(false, ordering: .releasing) }
            guard case .active = state else { return }
            // A failed checkpoint loses nothing (the log keeps every commit); the next
            // request tries again.
            if (try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)")) != nil {
                completed.add(1, ordering: .relaxed)
            }
        }
    }

    /// Waits for a running checkpoint, then closes the connection.
    func shutdown() async {
        try? await thread.shutdownGracefully()
        connection.close()
    }
}

/// The number of pages in a connection's write-ahead log after its latest commit, kept up to
/// date by SQLite's WAL hook.
final class WALPageCount: Sendable {
    private let pages = Atomic<Int>(0)

    /// Pages in the log after the latest commit.
    var current: Int { pages.load(ordering: .relaxed) }

    /// Installs the hook on `connection`, which keeps this object alive as long as it is open.
    init(watching connection: SQLiteConnection) {
        connection.setWALHook(retaining: self) { context, _, _, pages in
            if let context { Unmanaged<WALPageCount>.fromOpaque(context).takeUnretainedValue().pages.store(Int(pages), ordering: .relaxed) }
            return SQLITE_OK
        }
    }
}

extension Duration {
    /// The duration in whole milliseconds.
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
