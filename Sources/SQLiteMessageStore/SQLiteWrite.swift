import MessageStore

/// One write that the store's writer applies inside a group-committed transaction (see
/// ``SQLiteGroupCommitWriter``): a delivery's version of a message, a reader's `read`, or
/// the archiver's record of an attachment's archived file.
enum SQLiteWrite: Sendable {
    /// Stores a version of a message (``SQLiteRows/store(_:at:on:)``).
    case store(SQLiteRows.Row)
    /// Sets a message's `read` as a reader's statement at server time `time` (Unix ms).
    case setRead(Bool, of: MessageKey, at: Int64)
    /// Records an attachment's archived file on its message (``SQLiteRows/recordArchive(_:attachmentID:of:on:)``).
    case recordArchive(ArchivedFile, attachmentID: String, of: MessageKey)

    /// What a write did, answered once its transaction committed.
    enum Answer: Sendable {
        /// What storing the version did.
        case stored(StoreOutcome)
        /// The message after the reader's statement, or `nil` when there is none.
        case readSet(StoredMessage?)
        /// Whether the archived file was recorded.
        case archiveRecorded(Bool)
    }

    /// Applies the write on `connection`, inside the caller's transaction, at server time
    /// `time` (Unix ms), which the change feed records.
    func apply(at time: Int64, on connection: SQLiteConnection) throws -> Answer {
        switch self {
        case .store(let row):
            return .stored(try SQLiteRows.store(row, at: time, on: connection))
        case .setRead(let read, let key, let time):
            return .readSet(try SQLiteRows.setRead(read, of: key, at: time, on: connection))
        case .recordArchive(let file, let attachmentID, let key):
            return .archiveRecorded(try SQLiteRows.recordArchive(file, attachmentID: attachmentID, of: key, on: connection))
        }
    }
}
