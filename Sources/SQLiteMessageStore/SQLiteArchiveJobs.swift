import MessageStore

/// The archiver's jobs and checkpoint on SQLite (issue 14): the tables `archive_jobs` (one
/// row per attachment to archive, keyed by its message's `PK`, `SK` and the attachment id)
/// and `archive_checkpoint` (one row: how far the archiver read the change feed).
///
/// Every function runs on the writer's connection (``SQLiteMessageStore/onWriter(_:)``),
/// each change in a transaction of its own that takes the write lock first, so a claim's read
/// and its update are one step, and each is durable (`synchronous=FULL`) when it returns.
enum SQLiteArchiveJobs {
    /// The tables and the index that claims read, created when missing (a database from
    /// before archiving gains them when the store opens it).
    static let schemaSQL = """
        -- Attachments waiting for their file (issue 14): one per attachment of a message.
        CREATE TABLE IF NOT EXISTS archive_jobs (
            PK            TEXT    NOT NULL,
            SK            TEXT    NOT NULL,
            attachmentId  TEXT    NOT NULL,
            orderId       TEXT    NOT NULL,
            messageType   TEXT    NOT NULL,
            messageId     TEXT    NOT NULL,
            url           TEXT    NOT NULL,
            createdAt     INTEGER NOT NULL,
            attempts      INTEGER NOT NULL,
            nextAttemptAt INTEGER NOT NULL,
            lastError     TEXT,
            claimedBy     TEXT,
            claimedUntil  INTEGER,
            PRIMARY KEY (PK, SK, attachmentId)
        ) WITHOUT ROWID;
        -- The jobs by when they are due, which is how a claim looks for them.
        CREATE INDEX IF NOT EXISTS archive_jobs_by_due ON archive_jobs (nextAttemptAt);

        -- Where the archiver stopped reading the change feed: one row once it first read it.
        CREATE TABLE IF NOT EXISTS archive_checkpoint (
            id       INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            sequence INTEGER NOT NULL,
            time     INTEGER NOT NULL
        );
        """

    /// Releases every claim, inside the caller's transaction. A SQLite file is served by one
    /// process, so when the store opens no claim can be held by a live worker: the jobs of a
    /// process that crashed are due again at once rather than when their claims expire.
    static func releaseEveryClaim(on connection: SQLiteConnection) throws {
        try connection.execute("UPDATE archive_jobs SET claimedBy = NULL, claimedUntil = NULL WHERE claimedBy IS NOT NULL OR claimedUntil IS NOT NULL")
    }

    /// Adds the jobs not yet there and moves the checkpoint forward, in one transaction.
    static func enqueue(_ jobs: [ArchiveJob], checkpoint position: FeedPosition, on connection: SQLiteConnection) throws {
        try inWriteTransaction(on: connection) {
            let insert = try connection.prepared(insertSQL)
            for job in jobs {
                defer { insert.reset() }
                try bindKey(job.id, to: insert)
                try insert.bind(job.id.key.orderID, at: 4)
                try insert.bind(job.id.key.messageType.rawValue, at: 5)
                try insert.bind(job.id.key.messageID, at: 6)
                try insert.bind(job.url, at: 7)
                try insert.bind(job.createdAt, at: 8)
                try insert.bind(Int64(job.attempts), at: 9)
                try insert.bind(job.nextAttemptAt, at: 10)
                try insert.bind(job.lastError, at: 11)
                _ = try insert.step()
            }
            let checkpoint = try connection.prepared(checkpointSQL)
            defer { checkpoint.reset() }
            try checkpoint.bind(position.sequence, at: 1)
            try checkpoint.bind(position.time, at: 2)
            _ = try checkpoint.step()
        }
    }

    /// The checkpoint, or `nil` before the first enqueue.
    static func checkpoint(on connection: SQLiteConnection) throws -> FeedPosition? {
        let statement = try connection.prepared("SELECT sequence, time FROM archive_checkpoint WHERE id = 1")
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return FeedPosition(sequence: statement.int64(at: 0), time: statement.int64(at: 1))
    }

    /// Claims up to `limit` jobs due at `now` that no claim holds (or whose claim ended
    /// before `now`), the earliest due first, in one transaction.
    static func claim(dueBy now: Int64, limit: Int, worker: String, claimUntil: Int64, on connection: SQLiteConnection) throws -> [ArchiveJob] {
        guard limit > 0 else { return [] }
        return try inWriteTransaction(on: connection) {
            let select = try connection.prepared(claimableSQL)
            defer { select.reset() }
            try select.bind(now, at: 1)
            try select.bind(Int64(limit), at: 2)
            var jobs: [ArchiveJob] = []
            while try select.step() {
                jobs.append(try job(from: select))
            }
            select.reset()
            let update = try connection.prepared(claimSQL)
            for job in jobs {
                defer { update.reset() }
                try bindKey(job.id, to: update)
                try update.bind(worker, at: 4)
                try update.bind(claimUntil, at: 5)
                _ = try update.step()
            }
            return jobs
        }
    }

    /// Extends `worker`'s claim on a job.
    /// - Returns: whether the worker held it.
    static func renew(_ id: ArchiveJob.ID, worker: String, claimUntil: Int64, on connection: SQLiteConnection) throws -> Bool {
        let statement = try connection.prepared(renewSQL)
        defer { statement.reset() }
        try bindKey(id, to: statement)
        try statement.bind(worker, at: 4)
        try statement.bind(claimUntil, at: 5)
        _ = try statement.step()
        return connection.changes > 0
    }

    /// Writes a failed attempt's outcome and releases the claim, when `worker` holds it.
    static func reschedule(_ job: ArchiveJob, worker: String, on connection: SQLiteConnection) throws {
        let statement = try connection.prepared(rescheduleSQL)
        defer { statement.reset() }
        try bindKey(job.id, to: statement)
        try statement.bind(worker, at: 4)
        try statement.bind(Int64(job.attempts), at: 5)
        try statement.bind(job.nextAttemptAt, at: 6)
        try statement.bind(job.lastError, at: 7)
        _ = try statement.step()
    }

    /// Removes a job.
    static func finish(_ id: ArchiveJob.ID, on connection: SQLiteConnection) throws {
        let statement = try connection.prepared("DELETE FROM archive_jobs WHERE PK = ?1 AND SK = ?2 AND attachmentId = ?3")
        defer { statement.reset() }
        try bindKey(id, to: statement)
        _ = try statement.step()
    }

    /// How many jobs wait.
    static func count(on connection: SQLiteConnection) throws -> Int {
        Int(try connection.scalarText("SELECT count(*) FROM archive_jobs") ?? "") ?? 0
    }

    // MARK: Helpers

    /// Runs `body` in a transaction that takes the write lock first; rolls back when it throws.
    private static func inWriteTransaction<T>(on connection: SQLiteConnection, _ body: () throws -> T) throws -> T {
        try connection.execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try connection.execute("COMMIT")
            return result
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Binds a job's key as parameters 1 to 3 (`PK`, `SK`, `attachmentId`).
    private static func bindKey(_ id: ArchiveJob.ID, to statement: SQLiteStatement) throws {
        try statement.bind(id.key.partitionKey, at: 1)
        try statement.bind(id.key.sortKey, at: 2)
        try statement.bind(id.attachmentID, at: 3)
    }

    /// The job in the current row of a statement that selects ``jobColumns``.
    private static func job(from row: SQLiteStatement) throws -> ArchiveJob {
        guard let type = row.text(at: 1).flatMap(MessageType.init(rawValue:)) else {
            throw MessageStoreError.failed("an archive job has an unknown messageType")
        }
        let key = MessageKey(orderID: row.text(at: 0) ?? "", messageType: type, messageID: row.text(at: 2) ?? "")
        return ArchiveJob(
            id: ArchiveJob.ID(key: key, attachmentID: row.text(at: 3) ?? ""), url: row.text(at: 4) ?? "", createdAt: row.int64(at: 5),
            attempts: Int(row.int64(at: 6)), nextAttemptAt: row.int64(at: 7), lastError: row.text(at: 8)
        )
    }

    // MARK: SQL

    private static let jobColumns = "orderId, messageType, messageId, attachmentId, url, createdAt, attempts, nextAttemptAt, lastError"

    private static let insertSQL = """
        INSERT OR IGNORE INTO archive_jobs (PK, SK, attachmentId, orderId, messageType, messageId, url, createdAt, attempts, nextAttemptAt, lastError)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
        """

    private static let checkpointSQL = """
        INSERT INTO archive_checkpoint (id, sequence, time) VALUES (1, ?1, ?2)
        ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence, time = excluded.time WHERE excluded.sequence > sequence
        """

    private static let claimableSQL = """
        SELECT \(jobColumns) FROM archive_jobs
        WHERE nextAttemptAt <= ?1 AND (claimedUntil IS NULL OR claimedUntil < ?1)
        ORDER BY nextAttemptAt, PK, SK, attachmentId LIMIT ?2
        """

    private static let claimSQL = "UPDATE archive_jobs SET claimedBy = ?4, claimedUntil = ?5 WHERE PK = ?1 AND SK = ?2 AND attachmentId = ?3"

    private static let renewSQL = """
        UPDATE archive_jobs SET claimedUntil = ?5 WHERE PK = ?1 AND SK = ?2 AND attachmentId = ?3 AND claimedBy = ?4
        """

    private static let rescheduleSQL = """
        UPDATE archive_jobs SET attempts = ?5, nextAttemptAt = ?6, lastError = ?7, claimedBy = NULL, claimedUntil = NULL
        WHERE PK = ?1 AND SK = ?2 AND attachmentId = ?3 AND claimedBy = ?4
        """
}
