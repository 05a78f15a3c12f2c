import CSQLite
import Foundation
import Logging
import NIOPosix
import Synchronization

/// The embedded store: one SQLite file in WAL mode, with `synchronous=FULL` so that a write
/// returns only after its commit is on disk.
///
/// Rows keep the spec's item shape: one column per stored attribute, with the same names
/// (`PK`, `SK`, `orderId`, …; `attachments` as JSON text). SQLite's calls block, so they
/// run on the store's own threads, never on Swift's cooperative pool: one writer thread with
/// one connection (SQLite allows one writer at a time anyway) and a few reader threads whose
/// connections read in parallel with the writer, as WAL allows.
public final class SQLiteMessageStore: MessageStore {
    /// How to open the store.
    public struct Configuration: Sendable {
        /// The database file; its folder is created when missing.
        public var path: String
        /// How many reads may run at once.
        public var readerCount: Int
        /// How long a connection waits for another process's lock before giving up.
        public var busyTimeout: Duration

        /// Creates a configuration.
        public init(path: String, readerCount: Int = 2, busyTimeout: Duration = .seconds(5)) {
            self.path = path
            self.readerCount = max(1, readerCount)
            self.busyTimeout = busyTimeout
        }
    }

    private let configuration: Configuration
    private let writer: SQLiteConnection
    private let idleReaders = Mutex<[SQLiteConnection]>([])
    private let isShutDown = Atomic<Bool>(false)
    private let writerThread: NIOThreadPool
    private let readerThreads: NIOThreadPool

    private init(configuration: Configuration, writer: SQLiteConnection, writerThread: NIOThreadPool, readerThreads: NIOThreadPool) {
        self.configuration = configuration
        self.writer = writer
        self.writerThread = writerThread
        self.readerThreads = readerThreads
    }

    /// Opens the database, creating its folder, file and schema when missing.
    /// - Throws: ``MessageStoreError`` when the file cannot be opened or set up.
    public static func open(_ configuration: Configuration, logger: Logger) async throws -> SQLiteMessageStore {
        let writerThread = NIOThreadPool(numberOfThreads: 1)
        writerThread.start()
        do {
            let writer = try await writerThread.runIfActive {
                try Self.openWriter(configuration)
            }
            let readerThreads = NIOThreadPool(numberOfThreads: configuration.readerCount)
            readerThreads.start()
            logger.info("SQLite store opened", metadata: ["sqlite_path": .string(configuration.path)])
            return SQLiteMessageStore(
                configuration: configuration, writer: writer, writerThread: writerThread, readerThreads: readerThreads
            )
        } catch {
            try? await writerThread.shutdownGracefully()
            throw Self.storeError(error)
        }
    }

    public func store(_ message: StoredMessage) async throws -> StoreOutcome {
        let attachments = try message.attachments.map(Self.encodeAttachments)
        return try await onWriter { connection in
            // IMMEDIATE takes the write lock first, so another process cannot write between
            // the read and the write: the decision and the write are one atomic step.
            try connection.execute("BEGIN IMMEDIATE")
            do {
                let outcome = StoreOutcome.decide(storing: message, over: try Self.storedVersion(of: message, on: connection))
                if outcome.wroteNewVersion { try Self.write(message, attachments: attachments, on: connection) }
                try connection.execute("COMMIT")
                return outcome
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    private static func storedVersion(of message: StoredMessage, on connection: SQLiteConnection) throws -> StoredMessage? {
        let statement = try connection.prepared(selectOneSQL)
        defer { statement.reset() }
        try statement.bind(message.partitionKey, at: 1)
        try statement.bind(message.sortKey, at: 2)
        return try statement.step() ? try decodeRow(statement) : nil
    }

    private static func write(_ message: StoredMessage, attachments: String?, on connection: SQLiteConnection) throws {
        let statement = try connection.prepared(upsertSQL)
        defer { statement.reset() }
        try statement.bind(message.partitionKey, at: 1)
        try statement.bind(message.sortKey, at: 2)
        try statement.bind(message.orderID, at: 3)
        try statement.bind(message.messageID, at: 4)
        try statement.bind(message.messageType.rawValue, at: 5)
        try statement.bind(message.fromName, at: 6)
        try statement.bind(message.text, at: 7)
        try statement.bind(message.createdDate, at: 8)
        try statement.bind(message.read ? 1 : 0, at: 9)
        try statement.bind(message.timestamp, at: 10)
        try statement.bind(message.storedAt, at: 11)
        try statement.bind(message.orderNumber, at: 12)
        try statement.bind(attachments, at: 13)
        _ = try statement.step()
    }

    public func messages(forOrder orderID: String, type: MessageType?) async throws -> [StoredMessage] {
        try await onReader { connection in
            let statement: SQLiteStatement
            if let type {
                statement = try connection.prepared(Self.selectByTypeSQL)
                let prefix = StoredMessage.sortKeyPrefix(for: type)
                try statement.bind(StoredMessage.partitionKey(orderID: orderID), at: 1)
                try statement.bind(prefix, at: 2)
                try statement.bind(Self.upperBound(ofPrefix: prefix), at: 3)
            } else {
                statement = try connection.prepared(Self.selectSQL)
                try statement.bind(StoredMessage.partitionKey(orderID: orderID), at: 1)
            }
            defer { statement.reset() }
            var messages: [StoredMessage] = []
            while try statement.step() {
                messages.append(try Self.decodeRow(statement))
            }
            return messages
        }
    }

    public func checkReadiness() async throws {
        try await onReader { connection in
            _ = try connection.scalarText("SELECT count(*) FROM sqlite_master")
        }
    }

    public func shutdown() async throws {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // Finishes queued work first, so nothing acknowledged is cut off.
        try? await writerThread.shutdownGracefully()
        try? await readerThreads.shutdownGracefully()
        writer.close()
        idleReaders.withLock { readers in
            for reader in readers { reader.close() }
            readers.removeAll()
        }
    }

    /// A pragma's value on the writer's connection, to check its settings.
    func writerPragma(_ name: String) async throws -> String? {
        try await onWriter { try $0.scalarText("PRAGMA \(name)") }
    }

    // MARK: Threads and connections

    private func onWriter<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try checkOpen()
        do {
            return try await writerThread.runIfActive { [writer] in try body(writer) }
        } catch {
            throw Self.storeError(error)
        }
    }

    private func onReader<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try checkOpen()
        do {
            return try await readerThreads.runIfActive { [self] in
                let connection = try idleReaders.withLock { $0.popLast() } ?? openReader()
                defer { idleReaders.withLock { $0.append(connection) } }
                return try body(connection)
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    private func checkOpen() throws {
        if isShutDown.load(ordering: .acquiring) { throw MessageStoreError.unavailable("the SQLite store is shut down") }
    }

    private static func openWriter(_ configuration: Configuration) throws -> SQLiteConnection {
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
        try connection.execute(schemaSQL)
        return connection
    }

    private func openReader() throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: configuration.path)
        try connection.execute("PRAGMA busy_timeout = \(configuration.busyTimeout.milliseconds)")
        try connection.execute("PRAGMA query_only = ON")
        return connection
    }

    // MARK: Rows

    private static func decodeRow(_ row: SQLiteStatement) throws -> StoredMessage {
        guard let messageType = row.text(at: 2).flatMap(MessageType.init(rawValue:)) else {
            throw MessageStoreError.failed("stored row has an unknown messageType")
        }
        return StoredMessage(
            orderID: row.text(at: 0) ?? "",
            messageID: row.text(at: 1) ?? "",
            messageType: messageType,
            fromName: row.text(at: 3) ?? "",
            text: row.text(at: 4) ?? "",
            createdDate: row.text(at: 5) ?? "",
            read: row.int64(at: 6) != 0,
            timestamp: row.int64(at: 7),
            storedAt: row.text(at: 8) ?? "",
            orderNumber: row.text(at: 9),
            attachments: try row.text(at: 10).map(decodeAttachments)
        )
    }

    private static func encodeAttachments(_ attachments: [Attachment]) throws -> String {
        String(decoding: try JSONEncoder().encode(attachments), as: UTF8.self)
    }

    private static func decodeAttachments(_ json: String) throws -> [Attachment] {
        try JSONDecoder().decode([Attachment].self, from: Data(json.utf8))
    }

    /// The smallest string above every string that starts with `prefix` (which ends in `#`).
    private static func upperBound(ofPrefix prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        bytes[bytes.count - 1] += 1
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Maps any failure to the store's error: busy, locked, I/O and full-disk errors may pass.
    private static func storeError(_ error: any Error) -> MessageStoreError {
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

    // MARK: SQL

    private static let schemaSQL = """
        CREATE TABLE IF NOT EXISTS messages (
            PK          TEXT    NOT NULL,
            SK          TEXT    NOT NULL,
            orderId     TEXT    NOT NULL,
            messageId   TEXT    NOT NULL,
            messageType TEXT    NOT NULL,
            fromName    TEXT    NOT NULL,
            text        TEXT    NOT NULL,
            createdDate TEXT    NOT NULL,
            read        INTEGER NOT NULL CHECK (read IN (0, 1)),
            timestamp   INTEGER NOT NULL,
            storedAt    TEXT    NOT NULL,
            orderNumber TEXT,
            attachments TEXT,
            PRIMARY KEY (PK, SK)
        ) WITHOUT ROWID;
        """

    private static let upsertSQL = """
        INSERT OR REPLACE INTO messages
            (PK, SK, orderId, messageId, messageType, fromName, text, createdDate, read, timestamp, storedAt, orderNumber, attachments)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
        """

    private static let selectColumns =
        "orderId, messageId, messageType, fromName, text, createdDate, read, timestamp, storedAt, orderNumber, attachments"

    private static let selectOneSQL = "SELECT \(selectColumns) FROM messages WHERE PK = ?1 AND SK = ?2"

    private static let selectSQL = "SELECT \(selectColumns) FROM messages WHERE PK = ?1 ORDER BY SK"

    private static let selectByTypeSQL =
        "SELECT \(selectColumns) FROM messages WHERE PK = ?1 AND SK >= ?2 AND SK < ?3 ORDER BY SK"
}

extension Duration {
    /// The duration in whole milliseconds.
    fileprivate var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
