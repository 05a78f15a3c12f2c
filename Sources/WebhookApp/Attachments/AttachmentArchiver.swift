import Blobs
import Foundation
import Logging
import MessageStore
import ServiceLifecycle

/// Archives every attachment of every stored message (issue 14), in the background: the POST
/// that stored the message has long been answered, and nothing here can change its answer.
///
/// Two loops share the work, as ``ArchiveLedger`` describes:
/// - the **feed reader** reads the change feed after the ledger's checkpoint (at once when
///   this process stored a message with attachments, its bell rang; every poll interval for
///   other instances' messages) and turns each delivery's attachments on listed hosts into
///   jobs, moving the checkpoint past them;
/// - the **workers** claim due jobs and archive each: fetch the file (``AttachmentFetcher``),
///   store it as a blob, record it on the message, finish the job. A failure that may pass is
///   tried again with backoff until a day after the job was made; one that cannot (a host not
///   allowed, a file over the limit, a 404) ends the job at once. The attachment then stays
///   unarchived, and its download redirects to its URL.
///
/// A crash at any moment loses nothing: the feed keeps the messages, the ledger the jobs, and
/// a blob is content-addressed, so a download done twice writes one blob.
struct AttachmentArchiver: Service {
    /// How the archiver paces itself.
    struct Settings: Sendable {
        /// How many attachments download at once.
        var workers = 2
        /// How long a claim on a job lasts unless renewed (renewed every third of it while the
        /// download runs); after a crash on DynamoDB, another instance takes the job after it.
        var claimDuration: Duration = .seconds(60)
        /// The pause after the first failed attempt; it doubles after each, up to ``longestPause``.
        var firstPause: Duration = .seconds(30)
        /// The longest pause between attempts.
        var longestPause: Duration = .seconds(3600)
        /// How long after a job was made attempts stop.
        var giveUpAfter: Duration = .seconds(86_400)
        /// How often due jobs are looked for (retries come due by the clock, not by a bell).
        var workPollInterval: Duration = .seconds(1)
        /// The most feed events one read returns.
        var feedBatch = 256
        /// How often, at most, the queue's depth is read for its gauge (a count of the ledger's
        /// jobs costs a query: on DynamoDB a `Query` page per 1 MB of jobs).
        var queueSamplingInterval: Duration = .seconds(5)
    }

    /// The messages, the change feed and the archiver's store.
    let store: any MessageStore
    let blobs: any BlobStore
    let fetcher: AttachmentFetcher
    /// Rung after this process stored a message with attachments.
    let bell: FeedDoorbell
    let settings: Settings
    /// The queue's depth and the failed attempts.
    let metrics: ArchiveMetrics
    let logger: Logger
    /// This process's name as a worker in the store.
    let worker = "archiver-" + UUID().uuidString

    /// Empties the download folder of what a crash left there, then works until shutdown.
    /// - Throws: ``Blobs/BlobStoreError`` when the download folder cannot be used, which stops
    ///   the service with the reason.
    func run() async throws {
        try LocalBlobStore.prepareScratchFolder(fetcher.scratchFolder)
        logger.info(
            "Attachment archiver started",
            metadata: ["scratch_folder": .string(fetcher.scratchFolder), "workers": .stringConvertible(settings.workers)]
        )
        let workBell = FeedDoorbell()
        try? await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { [bell, interval = store.feedPollInterval] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        bell.ring()
                    }
                }
                group.addTask { [interval = settings.workPollInterval] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        workBell.ring()
                    }
                }
                group.addTask {
                    await withTaskCancellationHandler {
                        await readFeed(ringing: workBell)
                    } onCancel: {
                        bell.finish()
                    }
                }
                await withTaskCancellationHandler {
                    await work(on: workBell)
                } onCancel: {
                    workBell.finish()
                }
                group.cancelAll()
            }
        }
    }

    // MARK: The feed reader

    private func readFeed(ringing workBell: FeedDoorbell) async {
        var position: FeedPosition?
        var loaded = false
        var failures = RetryLogging()
        bell.ring()
        for await _ in bell.rings {
            do {
                if !loaded {
                    position = try await store.archiveCheckpoint()
                    loaded = true
                }
                while true {
                    let page: FeedPage
                    do {
                        page = try await store.feed(after: position, orderID: nil, limit: settings.feedBatch)
                    } catch is FeedPositionExpired {
                        logger.warning(
                            "The archiver's place in the change feed has expired; it goes on from the oldest event kept, and attachments of messages stored before it are not archived",
                            metadata: ["feed_sequence": .stringConvertible(position?.sequence ?? 0)]
                        )
                        position = nil
                        continue
                    }
                    let jobs = jobs(from: page.events)
                    if !jobs.isEmpty || position.map({ page.next > $0 }) ?? true {
                        try await store.enqueueArchiveJobs(jobs, checkpoint: page.next)
                        if !jobs.isEmpty { workBell.ring() }
                    }
                    position = page.next
                    if page.events.count < settings.feedBatch { break }
                }
                _ = failures.succeeded()
            } catch {
                if failures.failed() {
                    logger.warning(
                        "The archiver could not read the change feed; trying again",
                        metadata: ["error": .string(String(describing: error)), "failed_reads": .stringConvertible(failures.failures)]
                    )
                }
            }
        }
    }

    /// A job for each attachment on a listed host of each delivery.
    private func jobs(from events: [FeedEvent]) -> [ArchiveJob] {
        let now = UnixTime.nowMilliseconds()
        return events.flatMap { event -> [ArchiveJob] in
            guard event.kind != .read, let attachments = event.message.attachments else { return [] }
            return attachments.compactMap { attachment in
                guard attachment.archive == nil, fetcher.allowsURL(attachment.url) else { return nil }
                return ArchiveJob(id: .init(key: event.message.key, attachmentID: attachment.id), url: attachment.url, createdAt: now, nextAttemptAt: now)
            }
        }
    }

    // MARK: The workers

    private func work(on workBell: FeedDoorbell) async {
        var failures = RetryLogging()
        var lastSample: ContinuousClock.Instant?
        for await _ in workBell.rings {
            if lastSample.map({ ContinuousClock.now - $0 >= settings.queueSamplingInterval }) ?? true {
                lastSample = .now
                // A missed sample leaves the last one standing; the claim below reports the store's failure.
                if let jobs = try? await store.archiveJobCount() { metrics.recordQueueDepth(jobs) }
            }
            do {
                while true {
                    let now = UnixTime.nowMilliseconds()
                    let jobs = try await store.claimArchiveJobs(
                        dueBy: now, limit: settings.workers, worker: worker, claimUntil: now + settings.claimDuration.milliseconds
                    )
                    if jobs.isEmpty { break }
                    await withDiscardingTaskGroup { group in
                        for job in jobs { group.addTask { await archive(job) } }
                    }
                    if Task.isCancelled { return }
                }
                _ = failures.succeeded()
            } catch {
                if failures.failed() {
                    logger.warning(
                        "The archiver could not claim jobs; trying again",
                        metadata: ["error": .string(String(describing: error)), "failed_claims": .stringConvertible(failures.failures)]
                    )
                }
            }
        }
    }

    /// One attempt at one job, with its claim renewed while it runs.
    private func archive(_ job: ArchiveJob) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await attempt(job) }
            group.addTask { await renewClaim(on: job.id) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Renews the claim every third of its length; returns (ending the attempt) when it is lost.
    private func renewClaim(on id: ArchiveJob.ID) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: settings.claimDuration / 3)
                let until = UnixTime.nowMilliseconds() + settings.claimDuration.milliseconds
                if try await !store.renewArchiveClaim(id, worker: worker, claimUntil: until) {
                    logger.warning("The archiver lost its claim on a job; another worker has it", metadata: metadata(of: id))
                    return
                }
            } catch is CancellationError {
                return
            } catch {
                // The ledger did not answer; the claim may still hold. Try again at the next turn.
                continue
            }
        }
    }

    private func attempt(_ job: ArchiveJob) async {
        do {
            guard let message = try await store.message(job.id.key),
                let attachment = message.attachments?.first(where: { $0.id.hasSameUTF8(as: job.id.attachmentID) })
            else {
                try await store.finishArchiveJob(job.id)
                return
            }
            if attachment.archive != nil {
                try await store.finishArchiveJob(job.id)
                return
            }
            let fetched = try await fetcher.fetch(attachment.url)
            do {
                guard let key = BlobKey(sha256: fetched.sha256) else { throw AttachmentFetcher.Failure.transient("bad digest") }
                try await blobs.put(BlobDescription(key: key, size: fetched.size, contentType: fetched.contentType), from: fetched.path)
                try? FileManager.default.removeItem(atPath: fetched.path)
            } catch {
                try? FileManager.default.removeItem(atPath: fetched.path)
                throw error
            }
            let file = ArchivedFile(
                url: attachment.url, size: fetched.size, sha256: fetched.sha256, contentType: fetched.contentType, archivedAt: UnixTime.nowMilliseconds()
            )
            if try await store.recordArchive(file, attachmentID: attachment.id, of: job.id.key) {
                try await store.finishArchiveJob(job.id)
                logger.info(
                    "Attachment archived",
                    metadata: metadata(of: job.id).merging(["size": .stringConvertible(fetched.size), "sha256": .string(fetched.sha256)]) { $1 }
                )
                try await enqueueAgainIfChanged(job)
            } else {
                // A delivery changed the attachment's URL meanwhile: the next attempt fetches
                // the new one, at once and without counting this one.
                var next = job
                next.nextAttemptAt = UnixTime.nowMilliseconds()
                try await store.rescheduleArchiveJob(next, worker: worker)
            }
        } catch let failure as AttachmentFetcher.Failure {
            await failed(job, reason: failure.reason, permanently: failure.isPermanent)
        } catch is CancellationError {
            return
        } catch {
            await failed(job, reason: String(describing: error), permanently: false)
        }
    }

    /// A delivery that changed the attachment's URL after it was recorded, but whose job was
    /// folded into this one (a waiting job is not added twice): a job of its own again.
    private func enqueueAgainIfChanged(_ job: ArchiveJob) async throws {
        guard let message = try await store.message(job.id.key),
            let attachment = message.attachments?.first(where: { $0.id.hasSameUTF8(as: job.id.attachmentID) }), attachment.archive == nil,
            let checkpoint = try await store.archiveCheckpoint()
        else { return }
        let now = UnixTime.nowMilliseconds()
        try await store.enqueueArchiveJobs([ArchiveJob(id: job.id, url: attachment.url, createdAt: now, nextAttemptAt: now)], checkpoint: checkpoint)
    }

    /// Ends a job that cannot succeed, or schedules its next attempt.
    private func failed(_ job: ArchiveJob, reason: String, permanently: Bool) async {
        let now = UnixTime.nowMilliseconds()
        let attempts = job.attempts + 1
        let pause = settings.pause(afterAttempt: attempts)
        let givingUp = permanently || now + pause.milliseconds > job.createdAt + settings.giveUpAfter.milliseconds
        var details = metadata(of: job.id)
        details["error"] = .string(reason)
        details["attempts"] = .stringConvertible(attempts)
        do {
            if givingUp {
                try await store.finishArchiveJob(job.id)
                metrics.recordFailure(.givenUp)
                logger.error("Attachment not archived; its download redirects to its URL", metadata: details)
            } else {
                var next = job
                next.attempts = attempts
                next.nextAttemptAt = now + pause.milliseconds
                next.lastError = reason
                try await store.rescheduleArchiveJob(next, worker: worker)
                metrics.recordFailure(.retried)
                details["retry_in_seconds"] = .stringConvertible(pause.components.seconds)
                logger.warning("Attachment download failed; it will be tried again", metadata: details)
            }
        } catch {
            // The claim expires and the job comes back; nothing is lost.
            details["ledger_error"] = .string(String(describing: error))
            logger.warning("The archiver could not record a failed attempt", metadata: details)
        }
    }

    private func metadata(of id: ArchiveJob.ID) -> Logger.Metadata {
        [
            "order_id": .string(id.key.orderID), "message_type": .string(id.key.messageType.rawValue), "message_id": .string(id.key.messageID),
            "attachment_id": .string(id.attachmentID),
        ]
    }
}

extension AttachmentArchiver.Settings {
    /// The pause after `attempts` failed attempts: doubling from ``firstPause``, at most
    /// ``longestPause``, less up to a tenth at random so that instances do not retry in step.
    func pause(afterAttempt attempts: Int) -> Duration {
        let doubled = firstPause * (1 << min(attempts - 1, 20))
        let capped = min(doubled, longestPause)
        return capped - capped * Double.random(in: 0...0.1)
    }
}

extension Duration {
    /// The duration in whole milliseconds.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
