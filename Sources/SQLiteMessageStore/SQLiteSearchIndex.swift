import MessageStore

/// The full-text index (issue 13): an FTS5 table with the trigram tokenizer over each message's
/// searched fields, kept by triggers on `messages`, so that every write indexes in its own
/// transaction (a delivery's group commit included) and a message is found as soon as it is
/// acknowledged.
///
/// - `search_documents` numbers the messages: one row per message, whose `docid` is the FTS
///   row id. A new version gets a new, greater `docid`: `max(newest + 1, storedAt << 20)`, the
///   `storedAt` second in the high bits. So the index reads newest first by walking `docid`
///   down, and a document's `storedAt` second is never above its `docid`'s (``storedSecond(atMost:)``),
///   which is what ``SearchPageCollector``'s watermark needs.
/// - `message_search` is an external-content FTS5 table: it keeps only the index, and reads
///   the text through the `search_content` view (the messages' own rows) when it is rebuilt.
///   The trigram tokenizer (case-insensitive) indexes every three-scalar sequence of the fields,
///   without positions (`detail=none`): a term is looked up as all of its trigrams
///   (``matchExpression(_:)``), which finds every message that contains it and a few that only
///   contain its trigrams apart; shorter terms and the exact rules are checked on each candidate
///   by ``SearchRequest/accepts(_:)``. Positions would let FTS5 match the term itself, but cost
///   about 15% more time in FTS5 on every write and 40% more space, for a check that
///   ``SearchRequest/accepts(_:)`` makes anyway. Nor does it keep each row's token counts
///   (`columnsize = 0`), which only ranking by relevance reads: results run newest first.
/// - A write that changes nothing searched (a reader's `read`) does not touch the index.
enum SQLiteSearchIndex {
    /// How many `docid`s one second holds before a burst spills into the next second's range.
    static let docidsPerSecondShift: Int64 = 20

    /// The greatest `storedAt` second of a document whose `docid` is at most `docid`.
    static func storedSecond(atMost docid: Int64) -> Int64 { docid >> docidsPerSecondShift }

    /// The smallest `docid` a document stored in `second` or later can have.
    static func firstDocid(ofSecond second: Int64) -> Int64 { max(0, second) << docidsPerSecondShift }

    /// How far back a clock may have been set for a window's end to still find every document:
    /// a document's `docid` second exceeds its `storedAt` second when it was numbered after a
    /// newer one (concurrent requests, or a clock set back), by as much as that.
    static let clockSlackSeconds: Int64 = 3600

    /// The attachments' names of a row, one per line (`column` is `NEW.attachments`, say). A
    /// recursive walk of the JSON array rather than `json_each`: FTS5 reads its content view
    /// with virtual tables forbidden, so the view cannot use one, and this is the one spelling
    /// both the view and the triggers use.
    private static func attachmentNamesSQL(_ column: String) -> String {
        """
        coalesce((WITH RECURSIVE item(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM item WHERE n + 1 < json_array_length(\(column)))
                    SELECT group_concat(json_extract(\(column), '$[' || n || '].name'), char(10)) FROM item), '')
        """
    }

    /// The searched fields of a row, in the FTS table's column order (`row` is `NEW` or `OLD`;
    /// the `search_content` view spells the same with its column names).
    private static func fieldsSQL(_ row: String) -> String {
        "\(row).text, \(row).fromName, coalesce(\(row).orderNumber, ''), \(attachmentNamesSQL("\(row).attachments"))"
    }

    /// Numbers the row and indexes its fields.
    private static let indexNewSQL = """
        INSERT INTO search_documents (docid, PK, SK) VALUES (
                max(coalesce((SELECT max(docid) FROM search_documents), 0) + 1,
                    coalesce(CAST(strftime('%s', NEW.storedAt) AS INTEGER) << \(docidsPerSecondShift), 0)),
                NEW.PK, NEW.SK);
            INSERT INTO message_search (rowid, text, fromName, orderNumber, attachmentNames)
                SELECT docid, \(fieldsSQL("NEW")) FROM search_documents WHERE PK = NEW.PK AND SK = NEW.SK;
        """

    /// Removes the old row's fields from the index, and its number.
    private static let unindexOldSQL = """
        INSERT INTO message_search (message_search, rowid, text, fromName, orderNumber, attachmentNames)
                SELECT 'delete', docid, \(fieldsSQL("OLD")) FROM search_documents WHERE PK = OLD.PK AND SK = OLD.SK;
            DELETE FROM search_documents WHERE PK = OLD.PK AND SK = OLD.SK;
        """

    static let schemaSQL = """
        -- The number of each message in the search index: a newer version gets a greater one.
        CREATE TABLE IF NOT EXISTS search_documents (
            docid INTEGER PRIMARY KEY,
            PK    TEXT NOT NULL,
            SK    TEXT NOT NULL,
            UNIQUE (PK, SK)
        );
        -- What the index holds of each message, read from the messages themselves.
        CREATE VIEW IF NOT EXISTS search_content AS
            SELECT d.docid AS docid, m.text AS text, m.fromName AS fromName, coalesce(m.orderNumber, '') AS orderNumber,
                \(attachmentNamesSQL("m.attachments")) AS attachmentNames
            FROM search_documents AS d JOIN messages AS m ON m.PK = d.PK AND m.SK = d.SK;
        CREATE VIRTUAL TABLE IF NOT EXISTS message_search USING fts5(
            text, fromName, orderNumber, attachmentNames,
            content = 'search_content', content_rowid = 'docid', tokenize = 'trigram', detail = 'none', columnsize = 0
        );
        CREATE TRIGGER IF NOT EXISTS messages_insert_indexes_search AFTER INSERT ON messages BEGIN
            \(indexNewSQL)
        END;
        CREATE TRIGGER IF NOT EXISTS messages_update_reindexes_search
            AFTER UPDATE OF PK, SK, text, fromName, orderNumber, attachments, storedAt, timestamp ON messages BEGIN
            \(unindexOldSQL)
            \(indexNewSQL)
        END;
        CREATE TRIGGER IF NOT EXISTS messages_delete_unindexes_search AFTER DELETE ON messages BEGIN
            \(unindexOldSQL)
        END;
        """

    /// Creates the index when it is missing, inside the caller's transaction, and fills it from
    /// the messages already stored (a database from before search).
    /// - Returns: how many messages were indexed.
    @discardableResult
    static func install(on connection: SQLiteConnection) throws -> Int {
        let existed = try connection.scalarText("SELECT count(*) FROM sqlite_master WHERE name = 'message_search'") == "1"
        try connection.execute(schemaSQL)
        guard !existed else { return 0 }
        try connection.execute(backfillSQL)
        try connection.execute("INSERT INTO message_search (message_search) VALUES ('rebuild')")
        return Int(try connection.scalarText("SELECT count(*) FROM search_documents") ?? "") ?? 0
    }

    /// Numbers every stored message, oldest `storedAt` first, in each second's range.
    private static let backfillSQL = """
        INSERT INTO search_documents (docid, PK, SK)
            SELECT (coalesce(CAST(strftime('%s', storedAt) AS INTEGER), 0) << \(docidsPerSecondShift))
                    + row_number() OVER (PARTITION BY storedAt ORDER BY PK, SK), PK, SK
            FROM messages;
        """

    /// The most trigrams one term is looked up by: a longer term is looked up by this many of
    /// its trigrams, spread over it, which still finds every message that contains it.
    static let maximumTrigramsPerTerm = 24

    /// The FTS5 query for `terms`: every trigram of each (all required), each a quoted string
    /// (quotes doubled), so that nothing in a term is read as FTS5 syntax. The tokenizer folds
    /// their case as it folded the fields'.
    static func matchExpression(_ terms: [String]) -> String {
        var seen: Set<[Unicode.Scalar]> = []
        var strings: [String] = []
        for term in terms {
            let scalars = Array(term.unicodeScalars)
            guard scalars.count >= 3 else { continue }
            let starts = Array(0...(scalars.count - 3))
            let step = max(1, (starts.count + maximumTrigramsPerTerm - 1) / maximumTrigramsPerTerm)
            var chosen = stride(from: 0, to: starts.count, by: step).map { starts[$0] }
            if chosen.last != starts.last { chosen.append(starts[starts.count - 1]) }
            for start in chosen {
                let trigram = Array(scalars[start..<(start + 3)])
                guard seen.insert(trigram.map(SearchQuery.fold)).inserted else { continue }
                var text = String.UnicodeScalarView()
                for scalar in trigram {
                    if scalar == "\"" { text.append(scalar) }
                    text.append(scalar)
                }
                strings.append("\"" + String(text) + "\"")
            }
        }
        return strings.joined(separator: " ")
    }

    /// Reads candidates newest first from `start` (a `docid`, inclusive) down to `lowest`, and
    /// offers each one's message to `collector` until its page is complete.
    /// - Returns: whether every candidate was read, and the `docid` that would be read next.
    static func collect(
        _ collector: inout SearchPageCollector, terms: [String], from start: Int64, downTo lowest: Int64, on connection: SQLiteConnection
    ) throws -> (exhausted: Bool, unreadFrom: Int64) {
        let statement = try connection.prepared(candidatesSQL)
        defer { statement.reset() }
        try statement.bind(matchExpression(terms), at: 1)
        try statement.bind(start, at: 2)
        try statement.bind(lowest, at: 3)
        let docidColumn = SQLiteRows.archiveColumn + 1
        while try statement.step() {
            let docid = statement.int64(at: docidColumn)
            collector.offer(try SQLiteRows.decodeMessage(statement), resumeHint: docid)
            collector.lowerWatermark(to: storedSecond(atMost: docid))
            if collector.isComplete { return (false, docid - 1) }
        }
        return (true, lowest - 1)
    }

    /// The candidates' messages (with their archived files) and `docid`s, newest first: the FTS table's match walked down
    /// its row ids, each joined to its message by key.
    static let candidatesSQL = """
        SELECT \(SQLiteRows.selectedAttributes.map { "m.\($0.rawValue)" }.joined(separator: ", ")), m.\(SQLiteRows.archiveColumnName), s.rowid
        FROM message_search AS s
            JOIN search_documents AS d ON d.docid = s.rowid
            JOIN messages AS m ON m.PK = d.PK AND m.SK = d.SK
        WHERE message_search MATCH ?1 AND s.rowid <= ?2 AND s.rowid >= ?3
        ORDER BY s.rowid DESC
        """
}
