import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle

/// Keeps the served certificate current without a restart: on each request (the executable
/// forwards SIGHUP) and whenever either file changes (a cheap `stat` every `pollInterval`), it
/// loads the pair again with ``TLSCertificateLoader``'s checks. A good pair becomes the one new
/// connections get; connections already open keep theirs. A bad one is refused with an error
/// log line naming the file and the reason, and the pair in use stays.
public actor TLSReloader: Service {
    /// What made the reloader look at the files again.
    public enum Trigger: String, Sendable {
        /// SIGHUP, as forwarded by the executable.
        case signal = "SIGHUP"
        /// A file's inode, size or modification time changed.
        case fileChange = "file change"
        /// A direct call (tests).
        case request
    }

    /// The context new connections get; the server's TLS channel reads it.
    public nonisolated let contexts: TLSContextStore
    /// Where reloads, the served certificate's expiry and failed handshakes are recorded.
    public nonisolated let metrics: TLSMetrics
    private let files: AppConfiguration.TLSFiles
    private let requests: any AsyncSequence<Void, Never> & Sendable
    private let pollInterval: Duration?
    private let logger: Logger
    /// The files as last loaded (or last seen to fail).
    private var stamp: TLSFilesStamp
    /// A change seen once, loaded when the next look sees the same (so a renewal that
    /// replaces the two files one after the other is loaded once, complete).
    private var pendingStamp: TLSFilesStamp?

    /// - Parameters:
    ///   - initial: The pair loaded at start, served until a reload succeeds.
    ///   - requests: Each element asks for a reload (SIGHUP); none by default.
    ///   - pollInterval: How often the files are `stat`ed; `nil` never.
    ///   - metricsFactory: Where ``metrics`` records; nowhere by default.
    public init(
        files: AppConfiguration.TLSFiles, initial: LoadedTLSPair, requests: any AsyncSequence<Void, Never> & Sendable = AsyncStream { $0.finish() },
        pollInterval: Duration? = .seconds(2), metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance, logger: Logger
    ) {
        self.files = files
        self.contexts = TLSContextStore(initial.context)
        self.metrics = TLSMetrics(factory: metricsFactory)
        metrics.recordServedCertificate(expiringAt: initial.notValidAfter)
        self.requests = requests
        self.pollInterval = pollInterval
        self.logger = logger
        self.stamp = initial.stamp
    }

    /// Serves reload requests and looks at the files until the service group shuts down.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in self.requests { await self.reload(.signal) }
            }
            if let pollInterval {
                group.addTask {
                    while (try? await Task.sleep(for: pollInterval)) != nil {
                        await self.reloadIfChanged()
                    }
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    /// Loads the pair again and serves it if it passes every check.
    /// - Returns: Whether the new pair is now served.
    @discardableResult
    public func reload(_ trigger: Trigger) -> Bool {
        do {
            let pair = try TLSCertificateLoader.load(files)
            stamp = pair.stamp
            contexts.replace(with: pair.context)
            metrics.recordReload(.loaded)
            metrics.recordServedCertificate(expiringAt: pair.notValidAfter)
            logger.info(
                "TLS certificate loaded; new connections use it, open ones keep theirs",
                metadata: [
                    "trigger": .string(trigger.rawValue), "subject": .string(pair.subject),
                    "not_after": .string(pair.notValidAfter.formatted(.iso8601)), "certificate_path": .string(files.certificatePath),
                ]
            )
            pair.warnIfKeyIsShared(files, logger: logger)
            return true
        } catch {
            stamp = TLSFilesStamp(files)
            metrics.recordReload(.refused)
            logger.error(
                "TLS certificate refused; the one in use stays",
                metadata: [
                    "trigger": .string(trigger.rawValue), "setting": .string(error.variable), "path": .string(error.path),
                    "reason": .string(error.reason),
                ]
            )
            return false
        }
    }

    /// Reloads when the files have changed and then stayed the same for one more look.
    func reloadIfChanged() {
        let seen = TLSFilesStamp(files)
        guard seen != stamp else {
            pendingStamp = nil
            return
        }
        guard seen == pendingStamp else {
            pendingStamp = seen
            return
        }
        pendingStamp = nil
        reload(.fileChange)
    }
}

extension LoadedTLSPair {
    /// Logs a warning when the key file may be read by its group or by others.
    public func warnIfKeyIsShared(_ files: AppConfiguration.TLSFiles, logger: Logger) {
        guard keyIsShared else { return }
        logger.warning(
            "TLS key file is readable by other users; make it readable by the service's user alone (chmod 600)",
            metadata: ["path": .string(files.keyPath)]
        )
    }
}
