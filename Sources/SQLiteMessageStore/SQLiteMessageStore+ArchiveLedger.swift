import MessageStore

// The archiver's ledger on SQLite (issue 14): archived files recorded on their messages'
// rows through the writer's queue, and jobs and checkpoint in tables of their own
// (``SQLiteArchiveJobs``). A SQLite file is served by one process, so every claim is
// released when the store opens: after a crash, the jobs it held are due again at once.
extension SQLiteMessageStore {
    /// Goes through the writer's queue and group commit like a delivery, so it is durable
    /// when it returns (see ``SQLiteRows/recordArchive(_:attachmentID:of:on:)``).
    public func recordArchive(_ file: ArchivedFile, attachmentID: String, of key: MessageKey) async throws -> Bool {
        try await writing { [writer] in try await writer.recordArchive(file, attachmentID: attachmentID, of: key) }
    }

    public func archiveCheckpoint() async throws -> FeedPosition? {
        try await onReader { connection in try SQLiteArchiveJobs.checkpoint(on: connection) }
    }

    public func enqueueArchiveJobs(_ jobs: [ArchiveJob], checkpoint position: FeedPosition) async throws {
        try await onWriter { connection in try SQLiteArchiveJobs.enqueue(jobs, checkpoint: position, on: connection) }
    }

    public func claimArchiveJobs(dueBy now: Int64, limit: Int, worker: String, claimUntil: Int64) async throws -> [ArchiveJob] {
        try await onWriter { connection in
            try SQLiteArchiveJobs.claim(dueBy: now, limit: limit, worker: worker, claimUntil: claimUntil, on: connection)
        }
    }

    public func renewArchiveClaim(_ id: ArchiveJob.ID, worker: String, claimUntil: Int64) async throws -> Bool {
        try await onWriter { connection in try SQLiteArchiveJobs.renew(id, worker: worker, claimUntil: claimUntil, on: connection) }
    }

    public func rescheduleArchiveJob(_ job: ArchiveJob, worker: String) async throws {
        try await onWriter { connection in try SQLiteArchiveJobs.reschedule(job, worker: worker, on: connection) }
    }

    public func finishArchiveJob(_ id: ArchiveJob.ID) async throws {
        try await onWriter { connection in try SQLiteArchiveJobs.finish(id, on: connection) }
    }

    public func archiveJobCount() async throws -> Int {
        try await onReader { connection in try SQLiteArchiveJobs.count(on: connection) }
    }
}
