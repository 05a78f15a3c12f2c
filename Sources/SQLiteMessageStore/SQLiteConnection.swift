import MessageStore
import CSQLite

/// An error reported by SQLite, with its extended result code.
struct SQLiteError: Error, CustomStringConvertible {
    /// SQLite's extended result code (`SQLITE_IOERR_FSYNC`, …).
    var code: Int32
    /// SQLite's own explanation.
    var message: String

    /// The primary result code (`SQLITE_IOERR`, `SQLITE_BUSY`, …).
    var primaryCode: Int32 { code & 0xFF }

    var description: String { "SQLite error \(code): \(message)" }
}

/// Tells SQLite to copy bound text before the bind call returns.
private let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite database connection with a cache of prepared statements.
///
/// Not thread-safe by itself: ``SQLiteMessageStore`` hands each connection to one job at a
/// time (the writer's to its one thread, readers through a check-out list), which is why it
/// can be marked `Sendable`.
final class SQLiteConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens the database file at `path`, creating it when it does not exist.
    init(path: String) throws {
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open database"
            sqlite3_close_v2(handle)
            throw SQLiteError(code: code, message: message)
        }
        sqlite3_extended_result_codes(handle, 1)
        self.handle = handle
    }

    deinit { close() }

    /// Whether SQLite opened the main database read-only (it does so, silently, when the
    /// process may not write the file).
    var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    /// Runs one or more SQL statements that return no rows the caller needs.
    func execute(_ sql: String) throws {
        try check(sqlite3_exec(handle, sql, nil, nil, nil))
    }

    /// Runs one statement that returns no rows, compiled once per connection (for statements
    /// run on every request, such as `BEGIN` and `COMMIT`).
    func executeCached(_ sql: String) throws {
        let statement = try prepared(sql)
        defer { statement.reset() }
        _ = try statement.step()
    }

    /// The first column of the first row of `sql`, as text (for pragmas that answer a value).
    func scalarText(_ sql: String) throws -> String? {
        let statement = try prepared(sql)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return statement.text(at: 0)
    }

    /// A prepared statement for `sql`, compiled once per connection and then reused.
    func prepared(_ sql: String) throws -> SQLiteStatement {
        if let statement = statements[sql] { return statement }
        var statementHandle: OpaquePointer?
        try check(sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statementHandle, nil))
        guard let statementHandle else { throw SQLiteError(code: SQLITE_MISUSE, message: "empty statement") }
        let statement = SQLiteStatement(handle: statementHandle, connection: self)
        statements[sql] = statement
        return statement
    }

    /// Installs SQLite's WAL hook, called after every commit on this connection with the
    /// number of pages then in the write-ahead log. `context` is the hook's first argument,
    /// kept alive by this connection.
    func setWALHook(
        retaining context: any AnyObject & Sendable,
        _ hook: @escaping @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32
    ) {
        walHookContext = context
        sqlite3_wal_hook(handle, hook, Unmanaged.passUnretained(context).toOpaque())
    }

    private var walHookContext: (any AnyObject & Sendable)?

    /// Runs `body`'s reads in one read transaction, so they all see one snapshot, and ends it
    /// whether or not `body` throws.
    func inReadTransaction<T>(_ body: () throws -> T) throws -> T {
        try executeCached("BEGIN")
        do {
            let result = try body()
            try executeCached("COMMIT")
            return result
        } catch {
            if !isAutocommit { try? executeCached("ROLLBACK") }
            throw error
        }
    }

    /// How many rows the last `INSERT`, `UPDATE` or `DELETE` changed.
    var changes: Int {
        guard let handle else { return 0 }
        return Int(sqlite3_changes64(handle))
    }

    /// Whether no transaction is open (SQLite's autocommit mode).
    var isAutocommit: Bool {
        guard let handle else { return true }
        return sqlite3_get_autocommit(handle) != 0
    }

    /// Finalizes every statement and closes the connection. Safe to call more than once.
    func close() {
        for statement in statements.values { statement.finalize() }
        statements.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Throws the connection's current error unless `code` is a success code.
    func check(_ code: Int32) throws {
        guard code != SQLITE_OK, code != SQLITE_ROW, code != SQLITE_DONE else { return }
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "connection is closed"
        throw SQLiteError(code: handle.map { sqlite3_extended_errcode($0) } ?? code, message: message)
    }
}

/// A prepared statement owned by one ``SQLiteConnection``.
final class SQLiteStatement {
    private var handle: OpaquePointer?
    private unowned let connection: SQLiteConnection

    fileprivate init(handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    /// Binds text by its UTF-8 bytes, so text holding NUL characters is kept whole.
    func bind(_ value: String, at index: Int32) throws {
        var value = value
        let code = value.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                guard let address = chars.baseAddress else {
                    // An empty buffer may have no address, which SQLite would read as NULL.
                    return sqlite3_bind_text(handle, index, "", 0, transientDestructor)
                }
                return sqlite3_bind_text(handle, index, address, Int32(chars.count), transientDestructor)
            }
        }
        try connection.check(code)
    }

    /// Binds text, or NULL when `value` is `nil`.
    func bind(_ value: String?, at index: Int32) throws {
        if let value {
            try bind(value, at: index)
        } else {
            try connection.check(sqlite3_bind_null(handle, index))
        }
    }

    /// Binds an integer.
    func bind(_ value: Int64, at index: Int32) throws {
        try connection.check(sqlite3_bind_int64(handle, index, value))
    }

    /// Binds an integer, or NULL when `value` is `nil`.
    func bind(_ value: Int64?, at index: Int32) throws {
        if let value {
            try bind(value, at: index)
        } else {
            try connection.check(sqlite3_bind_null(handle, index))
        }
    }

    /// Advances to the next row: `true` when a row is ready to read, `false` when done.
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        try connection.check(code)
        return code == SQLITE_ROW
    }

    /// Text of a column of the current row, or `nil` for NULL.
    func text(at column: Int32) -> String? {
        guard sqlite3_column_type(handle, column) != SQLITE_NULL else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// The bytes of a column of the current row (text as its UTF-8 bytes, NUL included).
    func bytes(at column: Int32) -> [UInt8] {
        // The blob is read before its size, as SQLite asks.
        guard let bytes = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// Integer value of a column of the current row.
    func int64(at column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    /// Whether a column of the current row is NULL.
    func isNull(at column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    /// Readies the statement for its next use and drops its bindings.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    fileprivate func finalize() {
        sqlite3_finalize(handle)
        handle = nil
    }
}
