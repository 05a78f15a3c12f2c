import MessageStore
import CSQLite
import JSON

/// The `messages` table: its schema, its statements, and the mapping between its rows and
/// ``StoredMessage``. Rows keep the spec's item shape: one column per stored attribute, with
/// the same names (`PK`, `SK`, `orderId`, …; `read` as 0 or 1; `attachments` as JSON text).
enum SQLiteRows {
    /// A message as its row holds it, built once before it queues for the writer: the
    /// message, and its attachments already encoded for their JSON column.
    struct Row: Sendable {
        var message: StoredMessage
        var attachmentsJSON: String?

        init(_ message: StoredMessage) {
            self.message = message
            self.attachmentsJSON = message.attachments.map(SQLiteRows.encodeAttachments)
        }
    }

    /// Stores a version of a message on `connection`, inside the caller's transaction,
    /// unless the row holds one at least as new (the rule of ``StoreOutcome/decide(storing:over:)``).
    /// A newer version keeps a reader's newer `read` (``ReadStatement/merging(_:over:)``) and
    /// the archived files of the attachments it keeps at the same URL
    /// (``StoredMessage/keepingArchives(of:)``).
    /// A version written is recorded in the change feed at server time `time` (Unix ms).
    static func store(_ row: Row, at time: Int64, on connection: SQLiteConnection) throws -> StoreOutcome {
        let (outcome, stored) = try decide(row.message, on: connection)
        switch outcome {
        case .created:
            try write(row, on: connection)
            try SQLiteFeed.append(.created, of: row.message.key, at: time, on: connection)
        case .updated:
            var merged = row
            if let stored { merged.message = ReadStatement.merging(row.message, over: stored).keepingArchives(of: stored) }
            try write(merged, on: connection)
            try SQLiteFeed.append(.updated, of: row.message.key, at: time, on: connection)
        case .duplicate, .stale:
            break
        }
        return outcome
    }

    /// The outcome of storing `message`, and the stored version when the outcome is
    /// `updated` (its `read` statement may have to be kept).
    private static func decide(_ message: StoredMessage, on connection: SQLiteConnection) throws -> (StoreOutcome, StoredMessage?) {
        let statement = try connection.prepared(selectOneSQL)
        defer { statement.reset() }
        try statement.bind(message.partitionKey, at: 1)
        try statement.bind(message.sortKey, at: 2)
        guard try statement.step() else { return (.created, nil) }
        // The stored content is decoded only when the timestamps tie, or to merge `read`.
        let outcome = try StoreOutcome.decide(storing: message, overVersionAt: statement.int64(at: column(.timestamp))) {
            try decodeMessage(statement)
        }
        return (outcome, outcome == .updated ? try decodeMessage(statement) : nil)
    }

    /// Writes a row: inserts it, or updates the stored one in place.
    private static func write(_ row: Row, on connection: SQLiteConnection) throws {
        let message = row.message
        let statement = try connection.prepared(upsertSQL)
        defer { statement.reset() }
        // One parameter per attribute, numbered in ``StoredMessage/Attribute`` order.
        func parameter(_ attribute: StoredMessage.Attribute) -> Int32 { Int32(attribute.position + 1) }
        try statement.bind(message.partitionKey, at: parameter(.partitionKey))
        try statement.bind(message.sortKey, at: parameter(.sortKey))
        try statement.bind(message.orderID, at: parameter(.orderID))
        try statement.bind(message.messageID, at: parameter(.messageID))
        try statement.bind(message.messageType.rawValue, at: parameter(.messageType))
        try statement.bind(message.fromName, at: parameter(.fromName))
        try statement.bind(message.text, at: parameter(.text))
        try statement.bind(message.createdDate, at: parameter(.createdDate))
        try statement.bind(message.read ? 1 : 0, at: parameter(.read))
        try statement.bind(message.timestamp, at: parameter(.timestamp))
        try statement.bind(message.storedAt, at: parameter(.storedAt))
        try statement.bind(message.orderNumber, at: parameter(.orderNumber))
        try statement.bind(row.attachmentsJSON, at: parameter(.attachments))
        try statement.bind(message.threadID, at: parameter(.threadID))
        try statement.bind(message.inReplyTo, at: parameter(.inReplyTo))
        try statement.bind(message.readUpdatedAt, at: parameter(.readUpdatedAt))
        try statement.bind(encodeArchiveRecords(message.archiveRecords), at: archiveParameter)
        _ = try statement.step()
    }

    /// Every stored message of an order, optionally of one type, in `SK` order.
    static func messages(forOrder orderID: String, type: MessageType?, on connection: SQLiteConnection) throws -> [StoredMessage] {
        let statement = try listingStatement(forOrder: orderID, type: type, on: connection)
        defer { statement.reset() }
        var messages: [StoredMessage] = []
        while try statement.step() {
            messages.append(try decodeMessage(statement))
        }
        return messages
    }

    /// How many messages ``messages(forOrder:type:on:)`` would return. Inside one read
    /// transaction with the listing itself, the two agree.
    static func count(forOrder orderID: String, type: MessageType?, on connection: SQLiteConnection) throws -> Int {
        let statement = try bound(type == nil ? countSQL : countByTypeSQL, forOrder: orderID, type: type, on: connection)
        defer { statement.reset() }
        return try statement.step() ? Int(statement.int64(at: 0)) : 0
    }

    /// The statement that selects an order's messages in `SK` order, bound and ready to step
    /// (see ``nextChunk(of:limits:)``). The caller resets it when done.
    static func listingStatement(forOrder orderID: String, type: MessageType?, on connection: SQLiteConnection) throws -> SQLiteStatement {
        try bound(type == nil ? selectSQL : selectByTypeSQL, forOrder: orderID, type: type, on: connection)
    }

    /// Steps a listing statement for at most one chunk of messages.
    /// - Returns: the messages, and whether the statement has no more rows.
    static func nextChunk(of statement: SQLiteStatement, limits: ListingChunkLimits) throws -> (messages: [StoredMessage], isLast: Bool) {
        var messages: [StoredMessage] = []
        var bytes = 0
        while messages.count < limits.messages && bytes < limits.bytes {
            guard try statement.step() else { return (messages, true) }
            let message = try decodeMessage(statement)
            bytes += ListingChunkLimits.footprint(of: message)
            messages.append(message)
        }
        return (messages, false)
    }

    private static func bound(_ sql: String, forOrder orderID: String, type: MessageType?, on connection: SQLiteConnection) throws -> SQLiteStatement {
        let statement = try connection.prepared(sql)
        try statement.bind(StoredMessage.partitionKey(orderID: orderID), at: 1)
        if let type {
            let prefix = StoredMessage.sortKeyPrefix(for: type)
            try statement.bind(prefix, at: 2)
            try statement.bind(upperBound(ofPrefix: prefix), at: 3)
        }
        return statement
    }

    /// The order's change counter: 0 until a message of the order is first written, then
    /// different after every change. Read it before the messages it labels, so that a write
    /// landing between the two reads can only make the label older than the data, never newer.
    static func version(ofOrder orderID: String, on connection: SQLiteConnection) throws -> Int64 {
        let statement = try connection.prepared(selectVersionSQL)
        defer { statement.reset() }
        try statement.bind(StoredMessage.partitionKey(orderID: orderID), at: 1)
        return try statement.step() ? statement.int64(at: 0) : 0
    }

    /// Encodes attachments for their column: a JSON array, as the API writes it.
    static func encodeAttachments(_ attachments: [Attachment]) -> String {
        var writer = JSONWriter()
        Attachment.write(attachments, to: &writer)
        return writer.text
    }

    /// Encodes archive records for the `attachmentArchive` column: `nil` (NULL) when there
    /// are none, else ``MessageStore/ArchivedFile/write(_:to:)``'s JSON object.
    static func encodeArchiveRecords(_ records: [String: ArchivedFile]) -> String? {
        guard !records.isEmpty else { return nil }
        var writer = JSONWriter()
        ArchivedFile.write(records, to: &writer)
        return writer.text
    }

    /// The archive records in the current row of a statement that selects ``messageColumns``.
    static func archiveRecords(_ row: SQLiteStatement) throws -> [String: ArchivedFile] {
        try row.text(at: archiveColumn).map(ArchivedFile.records(fromJSON:)) ?? [:]
    }

    /// The message in the current row of a statement that selects ``messageColumns`` (a row
    /// of `messages`), with its attachments' archived files.
    static func decodeMessage(_ row: SQLiteStatement) throws -> StoredMessage {
        try decode(row).applyingArchiveRecords(archiveRecords(row))
    }

    /// The message in the current row of a statement that selects ``selectColumns`` (a row
    /// of `messages` or of the change feed), without archived files.
    static func decode(_ row: SQLiteStatement) throws -> StoredMessage {
        func text(_ attribute: StoredMessage.Attribute) -> String? { row.text(at: column(attribute)) }
        guard let messageType = text(.messageType).flatMap(MessageType.init(rawValue:)) else {
            throw MessageStoreError.failed("stored row has an unknown messageType")
        }
        return StoredMessage(
            orderID: text(.orderID) ?? "",
            messageID: text(.messageID) ?? "",
            messageType: messageType,
            fromName: text(.fromName) ?? "",
            text: text(.text) ?? "",
            createdDate: text(.createdDate) ?? "",
            read: row.int64(at: column(.read)) != 0,
            timestamp: row.int64(at: column(.timestamp)),
            storedAt: text(.storedAt) ?? "",
            orderNumber: text(.orderNumber),
            attachments: try text(.attachments).map(decodeAttachments),
            threadID: text(.threadID),
            inReplyTo: text(.inReplyTo),
            readUpdatedAt: row.isNull(at: column(.readUpdatedAt)) ? nil : row.int64(at: column(.readUpdatedAt))
        )
    }

    /// Reads the attachments column back. Foundation's `JSONDecoder` took most of the time
    /// of a listing here, so this goes through the small parser instead.
    private static func decodeAttachments(_ json: String) throws -> [Attachment] {
        guard case .array(let elements) = try JSONValue.parse(json.utf8) else {
            throw MessageStoreError.failed("stored attachments are not a JSON array")
        }
        return try elements.map { element in
            guard case .object(let fields) = element, let id = fields[Attachment.Field.id.rawValue]?.stringValue,
                let name = fields[Attachment.Field.name.rawValue]?.stringValue, let url = fields[Attachment.Field.url.rawValue]?.stringValue
            else { throw MessageStoreError.failed("a stored attachment lacks _id, name or url") }
            return Attachment(id: id, name: name, url: url, tag: fields[Attachment.Field.tag.rawValue]?.stringValue)
        }
    }

    /// The smallest string above every string that starts with `prefix` (which ends in `#`).
    static func upperBound(ofPrefix prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        bytes[bytes.count - 1] += 1
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: SQL

    static let schemaSQL = """
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
            threadId    TEXT,
            inReplyTo   TEXT,
            readUpdatedAt INTEGER,
            attachmentArchive TEXT,
            PRIMARY KEY (PK, SK)
        ) WITHOUT ROWID;

        -- A change counter per order, kept by the database itself: every insert, update or
        -- delete of a message, from any process or tool, bumps its order's version, so a
        -- reader can tell cheaply whether an order changed since it last looked.
        CREATE TABLE IF NOT EXISTS order_versions (
            PK      TEXT    NOT NULL PRIMARY KEY,
            version INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TRIGGER IF NOT EXISTS messages_insert_bumps_order_version AFTER INSERT ON messages BEGIN
            INSERT INTO order_versions (PK, version) VALUES (NEW.PK, 1)
                ON CONFLICT (PK) DO UPDATE SET version = version + 1;
        END;
        CREATE TRIGGER IF NOT EXISTS messages_update_bumps_order_version AFTER UPDATE ON messages BEGIN
            INSERT INTO order_versions (PK, version) VALUES (OLD.PK, 1)
                ON CONFLICT (PK) DO UPDATE SET version = version + 1;
            INSERT INTO order_versions (PK, version) VALUES (NEW.PK, 1)
                ON CONFLICT (PK) DO UPDATE SET version = version + 1;
        END;
        CREATE TRIGGER IF NOT EXISTS messages_delete_bumps_order_version AFTER DELETE ON messages BEGIN
            INSERT INTO order_versions (PK, version) VALUES (OLD.PK, 1)
                ON CONFLICT (PK) DO UPDATE SET version = version + 1;
        END;

        -- One row, rewritten by the readiness probe: a real, synced write that fails when a
        -- message write would (read-only file or folder, full disk, file size limit).
        CREATE TABLE IF NOT EXISTS write_probe (
            id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            probed_at INTEGER NOT NULL,
            padding   BLOB
        );
        """

    /// Columns added after the first release, with their types: a database created before
    /// gains them (as NULL in existing rows) when the store opens it.
    static let addedColumns: [(name: String, type: String)] = [
        (StoredMessage.Attribute.threadID.rawValue, "TEXT"), (StoredMessage.Attribute.inReplyTo.rawValue, "TEXT"),
        (StoredMessage.Attribute.readUpdatedAt.rawValue, "INTEGER"), (archiveColumnName, "TEXT"),
    ]

    /// Adds the ``addedColumns`` that an older database lacks.
    static func migrate(on connection: SQLiteConnection) throws {
        let statement = try connection.prepared("SELECT name FROM pragma_table_info('messages')")
        var existing: Set<String> = []
        while try statement.step() {
            if let name = statement.text(at: 0) { existing.insert(name) }
        }
        statement.reset()
        for (name, type) in addedColumns where !existing.contains(name) {
            try connection.execute("ALTER TABLE messages ADD COLUMN \(name) \(type)")
        }
    }

    /// Rewrites the probe row in a transaction of its own: whatever stops it would stop a
    /// message write of `bytes` too. A small probe can pass where a large message fails (the
    /// last free pages of a disk, or of a write-ahead log that is reused from its start), so
    /// after a write failed the probe writes as much as the largest message.
    static func probeWrite(bytes: Int = 0, on connection: SQLiteConnection) throws {
        let statement = try connection.prepared(
            "INSERT OR REPLACE INTO write_probe (id, probed_at, padding) VALUES (1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), zeroblob(?1))"
        )
        defer { statement.reset() }
        try statement.bind(Int64(bytes), at: 1)
        _ = try statement.step()
    }

    private static let selectVersionSQL = "SELECT version FROM order_versions WHERE PK = ?1"

    /// The column that keeps a message's archived files (issue 14): a JSON object of
    /// attachment id to record (``MessageStore/ArchivedFile/write(_:to:)``), or NULL. It is
    /// not one of the spec's attributes, so it comes after them in every statement.
    static let archiveColumnName = "attachmentArchive"

    /// The upsert's parameter for ``archiveColumnName``: after the attributes'.
    private static let archiveParameter = Int32(StoredMessage.Attribute.allCases.count + 1)

    /// Every column, named as the attribute it holds, in ``StoredMessage/Attribute`` order,
    /// then ``archiveColumnName``. An existing row is updated in place (not deleted and
    /// inserted again, as `INSERT OR REPLACE` would), so the database's `UPDATE` triggers see
    /// it as the update it is.
    private static let upsertSQL = """
        INSERT INTO messages (\(StoredMessage.Attribute.allCases.map(\.rawValue).joined(separator: ", ")), \(archiveColumnName))
        VALUES (\(StoredMessage.Attribute.allCases.map { "?\($0.position + 1)" }.joined(separator: ", ")), ?\(archiveParameter))
        ON CONFLICT (PK, SK) DO UPDATE SET \(
            StoredMessage.Attribute.allCases.filter { $0 != .partitionKey && $0 != .sortKey }
                .map { "\($0.rawValue) = excluded.\($0.rawValue)" }.joined(separator: ", ")
        ), \(archiveColumnName) = excluded.\(archiveColumnName)
        """

    /// The attributes a read returns: every one but the keys, which the item's own fields give.
    static let selectedAttributes = StoredMessage.Attribute.allCases.filter { $0 != .partitionKey && $0 != .sortKey }
    /// The ``selectedAttributes``' columns: what a row of `messages` and of the change feed share.
    static let selectColumns = selectedAttributes.map(\.rawValue).joined(separator: ", ")
    /// What a read of `messages` selects: ``selectColumns``, then ``archiveColumnName``
    /// (at ``archiveColumn``).
    static let messageColumns = selectColumns + ", " + archiveColumnName
    /// Where ``archiveColumnName`` is among ``messageColumns``.
    static let archiveColumn = Int32(selectedAttributes.count)

    /// Where an attribute is among ``selectColumns``.
    static func column(_ attribute: StoredMessage.Attribute) -> Int32 {
        Int32(selectedAttributes.firstIndex(of: attribute)!)
    }

    static let selectOneSQL = "SELECT \(messageColumns) FROM messages WHERE PK = ?1 AND SK = ?2"

    private static let selectSQL = "SELECT \(messageColumns) FROM messages WHERE PK = ?1 ORDER BY SK"

    private static let selectByTypeSQL =
        "SELECT \(messageColumns) FROM messages WHERE PK = ?1 AND SK >= ?2 AND SK < ?3 ORDER BY SK"

    private static let countSQL = "SELECT count(*) FROM messages WHERE PK = ?1"

    private static let countByTypeSQL = "SELECT count(*) FROM messages WHERE PK = ?1 AND SK >= ?2 AND SK < ?3"
}
