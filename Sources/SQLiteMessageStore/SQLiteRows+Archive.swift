import MessageStore

// The archiver's record of an attachment's archived file, on its message's row (issue 14).
extension SQLiteRows {
    /// Records `file` as the archived file of the message's attachment `attachmentID`,
    /// inside the caller's transaction, when the message has that attachment at `file.url`
    /// (both compared byte by byte).
    ///
    /// Only the `attachmentArchive` column changes: the order's version moves on (its
    /// `UPDATE` trigger), so cached listings are read again, while its summary keeps its
    /// counts and last message (the row's `read` and `timestamp` are unchanged), the search
    /// index is not touched (its trigger watches the searched columns only), and no feed
    /// event is written.
    /// - Returns: whether it was recorded.
    static func recordArchive(_ file: ArchivedFile, attachmentID: String, of key: MessageKey, on connection: SQLiteConnection) throws -> Bool {
        guard let stored = try message(key, on: connection),
            let attachment = stored.attachments?.first(where: { $0.id.hasSameUTF8(as: attachmentID) && $0.url.hasSameUTF8(as: file.url) })
        else { return false }
        var records = stored.archiveRecords
        records[attachment.id] = file
        let statement = try connection.prepared(recordArchiveSQL)
        defer { statement.reset() }
        try statement.bind(key.partitionKey, at: 1)
        try statement.bind(key.sortKey, at: 2)
        try statement.bind(encodeArchiveRecords(records), at: 3)
        _ = try statement.step()
        return true
    }

    private static let recordArchiveSQL = "UPDATE messages SET \(archiveColumnName) = ?3 WHERE PK = ?1 AND SK = ?2"
}
