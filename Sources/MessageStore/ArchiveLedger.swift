/// The archiver's durable state, kept by the message store (issue 14): which attachments
/// still wait for their file, how far the archiver has read the change feed, and the
/// archived files themselves, recorded on their messages.
///
/// The change feed is the archiver's source of work: every stored message is one event in
/// it, in the same atomic step as the message, so a message acknowledged is never missed by
/// the archiver, whatever crashes. The archiver reads the feed after its checkpoint, turns
/// each event's attachments into ``ArchiveJob``s here, and moves the checkpoint past them in
/// that order, so a crash between the two enqueues the same jobs again (the same jobs: a job
/// is known by its message and attachment).
///
/// Several instances may share one store. A job is worked on by the instance that claims it
/// (see ``claimArchiveJobs(dueBy:limit:worker:claimUntil:)``), until its claim expires; a
/// second fetch of the same file after a lost claim writes the same content-addressed blob.
public protocol ArchiveLedger: Sendable {
    /// Records that an attachment's file is archived as `file`, on its message, when the
    /// message still has that attachment at `file.url`; it changes nothing else: no feed
    /// event, no order activity (an order's listing version does change).
    /// - Returns: whether the record was written (false: no such message or attachment, or
    ///   the attachment has another URL now).
    func recordArchive(_ file: ArchivedFile, attachmentID: String, of key: MessageKey) async throws -> Bool

    /// Where the archiver stopped reading the change feed, or `nil` before it first read it.
    func archiveCheckpoint() async throws -> FeedPosition?

    /// Adds `jobs` (a job already waiting is left as it is), then moves the checkpoint to
    /// `position` unless it is already further; durable when it returns.
    func enqueueArchiveJobs(_ jobs: [ArchiveJob], checkpoint position: FeedPosition) async throws

    /// Claims up to `limit` jobs whose next attempt is due at `now` (Unix ms) and that no
    /// other worker holds: each is this `worker`'s until `claimUntil`, or until it renews.
    func claimArchiveJobs(dueBy now: Int64, limit: Int, worker: String, claimUntil: Int64) async throws -> [ArchiveJob]

    /// Extends this worker's claim on a job.
    /// - Returns: false when the worker no longer holds it (another claimed it after the
    ///   claim expired, or it was finished).
    func renewArchiveClaim(_ id: ArchiveJob.ID, worker: String, claimUntil: Int64) async throws -> Bool

    /// Writes a job's new attempt count, next attempt and last error after a failed
    /// attempt, and releases the claim.
    func rescheduleArchiveJob(_ job: ArchiveJob, worker: String) async throws

    /// Removes a job: its file is archived, or it was given up.
    func finishArchiveJob(_ id: ArchiveJob.ID) async throws

    /// How many jobs wait, claimed or not (for metrics and tests).
    func archiveJobCount() async throws -> Int
}

/// One attachment to archive: which message and attachment, and how its attempts went.
public struct ArchiveJob: Sendable, Hashable {
    /// A job's identity: one per attachment of a message.
    public struct ID: Sendable, Hashable, CustomStringConvertible {
        /// The message.
        public var key: MessageKey
        /// Qualia's attachment id (`_id`).
        public var attachmentID: String

        /// Creates an identity.
        public init(key: MessageKey, attachmentID: String) {
            self.key = key
            self.attachmentID = attachmentID
        }

        public var description: String { "\(key.orderID)/\(key.messageType.rawValue)/\(key.messageID)/\(attachmentID)" }
    }

    /// Which attachment.
    public var id: ID
    /// The URL it had when the job was made (the attempt fetches the message's current one).
    public var url: String
    /// When the job was made, server time, Unix ms: attempts stop a day after it.
    public var createdAt: Int64
    /// How many attempts failed so far.
    public var attempts: Int
    /// When the next attempt is due, Unix ms.
    public var nextAttemptAt: Int64
    /// Why the last attempt failed, for operators (never a secret: no URL query, no body).
    public var lastError: String?

    /// Creates a job.
    public init(id: ID, url: String, createdAt: Int64, attempts: Int = 0, nextAttemptAt: Int64, lastError: String? = nil) {
        self.id = id
        self.url = url
        self.createdAt = createdAt
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
    }
}
