import CoreMetrics
import Logging
import MessageStore
import ServiceLifecycle

/// Reads the store's change feed into the ``FeedHub``: whenever this process stored a change
/// (its ``FeedDoorbell`` rang), and every ``MessageStore/feedPollInterval`` for changes that
/// other instances stored. One reader per process, however many subscribers.
///
/// It reads only while someone is subscribed: with the first subscriber it starts at the
/// feed's end, so the hub holds what is stored from then on (a subscriber with an older cursor
/// reads the store until it catches up), and with the last one gone it stops, so an instance
/// nobody follows costs the store nothing. A failed read is logged and tried again at the next
/// ring or poll, from the same position: nothing is skipped.
struct FeedFollower: Service {
    let store: any MessageStore
    let hub: FeedHub
    let doorbell: FeedDoorbell
    /// Feed lag (``MetricName/feedLag``): for each event read, the time from when the store
    /// stored it (its position's time, the storing server's clock) to when it is handed to the
    /// hub, which is when the live stream can first send it. This process's own writes ring the
    /// doorbell, so theirs is the follower's reaction time; other instances' writes are found
    /// by the poll, so theirs is up to ``MessageStore/feedPollInterval`` more.
    let lag: CoreMetrics.Timer
    let logger: Logger
    /// The most events one read of the store returns.
    static let batchSize = 512

    func run() async throws {
        // Graceful shutdown stops the follower; the server has stopped taking requests by then.
        try? await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { [doorbell, interval = store.feedPollInterval] in
                    // The poll, as rings of the same bell.
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        doorbell.ring()
                    }
                }
                await withTaskCancellationHandler {
                    await follow()
                } onCancel: {
                    doorbell.finish()
                }
                group.cancelAll()
            }
        }
    }

    private func recordLag(of events: [FeedEvent]) {
        guard !events.isEmpty else { return }
        let now = UnixTime.nowMilliseconds()
        // Another instance's clock may run ahead of ours: such an event counts as no lag.
        for event in events { lag.recordMilliseconds(max(0, now - event.position.time)) }
    }

    private func follow() async {
        var position: FeedPosition?
        var failures = RetryLogging()
        for await _ in doorbell.rings {
            // Nobody to send to: read nothing (on DynamoDB an idle instance costs no reads), and
            // start afresh from the feed's end when someone subscribes.
            guard await hub.subscriberCount > 0 else {
                if position != nil {
                    position = nil
                    await hub.stop()
                }
                continue
            }
            do {
                if position == nil {
                    let end = try await store.feedEnd()
                    await hub.start(at: end)
                    position = end
                }
                while let current = position {
                    let page: FeedPage
                    do {
                        page = try await store.feed(after: current, orderID: nil, limit: Self.batchSize)
                    } catch is FeedPositionExpired {
                        // Only a position idle for the whole retention gets here: nothing was
                        // stored after it, so it stands, taken afresh.
                        position = FeedPosition(sequence: current.sequence, time: UnixTime.nowMilliseconds())
                        continue
                    }
                    recordLag(of: page.events)
                    await hub.append(page.events.map(\.frame), next: page.next)
                    position = max(current, page.next)
                    if page.events.count < Self.batchSize { break }
                }
                let ended = failures.succeeded()
                if ended > 0 {
                    logger.notice("Change feed readable again", metadata: ["failed_reads": .stringConvertible(ended)])
                }
            } catch {
                if failures.failed() {
                    logger.warning(
                        "Could not read the change feed; trying again",
                        metadata: ["error": .string(String(describing: error)), "failed_reads": .stringConvertible(failures.failures)]
                    )
                }
            }
        }
    }
}
