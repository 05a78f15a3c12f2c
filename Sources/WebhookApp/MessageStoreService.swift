import Logging
import MessageStore
import ServiceLifecycle

/// Keeps the store open while the service runs and shuts it down on graceful shutdown,
/// after the HTTP server (which starts after it, and so stops before it) has drained.
struct MessageStoreService: Service {
    let store: any MessageStore
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        do {
            try await store.shutdown()
            logger.info("Message store closed")
        } catch {
            logger.error("Message store did not close cleanly", metadata: ["error": .string(String(describing: error))])
        }
    }
}
