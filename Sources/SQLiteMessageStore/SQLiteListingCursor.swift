import MessageStore
import Synchronization

/// A streaming listing on the SQLite store: one read transaction on one reader connection,
/// stepped a chunk at a time.
///
/// Between chunks the cursor keeps the connection (and so the transaction and the statement's
/// place in it) but not a reader thread: each chunk is one job on the store's reader threads,
/// so a slow client holds a connection and a snapshot, never a thread, and other reads go on.
/// What it does hold is bounded by how long the client takes; while it holds a snapshot,
/// checkpoints cannot copy the log past it, so the log may grow for that long.
///
/// The transaction ends and the connection goes back to the pool when the last row has been
/// read, when a step fails, on ``close()`` (a client that went away), or when the cursor is
/// released without any of those (a response that was never written).
final class SQLiteListingCursor: MessageListingCursor {
    /// The connection and its listing statement, owned by this cursor alone until given back.
    private struct Reading: @unchecked Sendable {
        let connection: SQLiteConnection
        let statement: SQLiteStatement
    }

    private struct State: Sendable {
        var firstChunk: [StoredMessage]?
        var reading: Reading?
    }

    private let store: SQLiteMessageStore
    private let limits: ListingChunkLimits
    private let state: Mutex<State>

    /// Takes over a connection inside a read transaction, and its listing statement, already
    /// stepped for `firstChunk`; when `isLast`, gives them back at once.
    init(
        store: SQLiteMessageStore, connection: SQLiteConnection, statement: SQLiteStatement, firstChunk: [StoredMessage], isLast: Bool,
        limits: ListingChunkLimits
    ) {
        self.store = store
        self.limits = limits
        let reading = Reading(connection: connection, statement: statement)
        if isLast { store.endReadTransaction(on: connection, statement: statement) }
        state = Mutex(State(firstChunk: firstChunk, reading: isLast ? nil : reading))
    }

    deinit {
        if let reading = state.withLock({ $0.reading.take() }) { end(reading) }
    }

    func nextChunk() async throws -> [StoredMessage]? {
        let (first, reading) = state.withLock { state -> ([StoredMessage]?, Reading?) in
            if let first = state.firstChunk.take() { return (first, nil) }
            return (nil, state.reading.take())
        }
        if let first { return first }
        guard let reading else { return nil }
        let limits = limits
        do {
            let chunk = try await store.onReaderThread { try SQLiteRows.nextChunk(of: reading.statement, limits: limits) }
            if chunk.isLast {
                end(reading)
            } else {
                state.withLock { $0.reading = reading }
            }
            return chunk.messages.isEmpty && chunk.isLast ? nil : chunk.messages
        } catch {
            end(reading)
            throw SQLiteMessageStore.storeError(error)
        }
    }

    func close() async {
        let reading = state.withLock { state in
            state.firstChunk = nil
            return state.reading.take()
        }
        if let reading { end(reading) }
    }

    private func end(_ reading: Reading) {
        store.endReadTransaction(on: reading.connection, statement: reading.statement)
    }
}
