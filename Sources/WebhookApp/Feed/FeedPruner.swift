import Logging
import MessageStore
import ServiceLifecycle

/// Drops the feed's events that retention no longer keeps (``MessageStore/pruneFeed()``),
/// a minute after start and then every hour. On DynamoDB the table's TTL does it instead,
/// and this finds nothing to do.
struct FeedPruner: Service {
    let store: any MessageStore
    let logger: Logger
    var firstRun: Duration = .seconds(60)
    var interval: Duration = .seconds(3600)

    func run() async throws {
        try? await cancelWhenGracefulShutdown { await prune() }
    }

    private func prune() async {
        try? await Task.sleep(for: firstRun)
        while !Task.isCancelled {
            do {
                let dropped = try await store.pruneFeed()
                if dropped > 0 { logger.info("Dropped expired change-feed events", metadata: ["events": .stringConvertible(dropped)]) }
            } catch {
                logger.warning("Could not drop expired change-feed events", metadata: ["error": .string(String(describing: error))])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
