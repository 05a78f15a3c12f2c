import Foundation
import Logging
import MessageStore
import ServiceLifecycle

/// Reads the store's change feed into the ``FeedHub``: whenever this process stored a change
/// (its ``FeedDoorbell`` rang), and every ``MessageStore/feedPollInterval`` for changes that
/// other instances stored. One reader per process, however many subscribers.
///
/// It starts at the feed's end, so the hub holds what is stored from then on; a subscriber
/// with an older cursor reads the store until it catches up. A failed read is logged and
/// tried again at the next ring or poll, from the same position: nothing is skipped.
struct FeedFollower: Service {
    let store: any MessageStore
    let hub: FeedHub
    let doorbell: FeedDoorbell
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

    private func follow() async {
        guard var position = await startPosition() else { return }
        await hub.start(at: position)
        var failures = 0
        for await _ in doorbell.rings {
            do {
                while true {
                    let page: FeedPage
                    do {
                        page = try await store.feed(after: position, orderID: nil, limit: Self.batchSize)
                    } catch is FeedPositionExpired {
                        // Only a position idle for the whole retention gets here: nothing was
                        // stored after it, so it stands, taken afresh.
                        position = FeedPosition(sequence: position.sequence, time: Self.now())
                        continue
                    }
                    await hub.append(page.events.map(\.frame), next: page.next)
                    position = max(position, page.next)
                    if page.events.count < Self.batchSize { break }
                }
                if failures > 0 {
                    logger.notice("Change feed readable again", metadata: ["failed_reads": .stringConvertible(failures)])
                    failures = 0
                }
            } catch {
                failures += 1
                // Once per outage, then every hundredth try: a long outage does not flood the log.
                if failures == 1 || failures % 100 == 0 {
                    logger.warning(
                        "Could not read the change feed; trying again",
                        metadata: ["error": .string(String(describing: error)), "failed_reads": .stringConvertible(failures)]
                    )
                }
            }
        }
    }

    /// The feed's end, asked until the store answers (or the follower stops).
    private func startPosition() async -> FeedPosition? {
        var attempt = 0
        while !Task.isCancelled {
            do {
                return try await store.feedEnd()
            } catch {
                attempt += 1
                if attempt == 1 || attempt % 60 == 0 {
                    logger.warning("Could not find the change feed's end; trying again", metadata: ["error": .string(String(describing: error))])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        return nil
    }

    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}
