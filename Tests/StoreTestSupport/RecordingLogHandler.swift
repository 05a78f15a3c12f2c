import Logging
import Synchronization

/// Keeps every log entry so a test can check what was logged, and with which metadata.
public final class LogRecording: Sendable {
    /// One entry: its level, message and metadata (the logger's and the call's).
    public struct Entry: Sendable {
        /// The level.
        public var level: Logger.Level
        /// The message, as written.
        public var message: String
        /// The metadata, flattened to strings.
        public var metadata: [String: String]
    }

    private let storage = Mutex<[Entry]>([])

    /// Creates an empty recording.
    public init() {}

    /// Every entry so far, oldest first.
    public var entries: [Entry] { storage.withLock { $0 } }

    /// A logger whose entries land here (every level).
    public var logger: Logger {
        var logger = Logger(label: "test") { _ in Handler(recording: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ entry: Entry) { storage.withLock { $0.append(entry) } }

    private struct Handler: LogHandler {
        let recording: LogRecording
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            recording.append(Entry(level: event.level, message: event.message.description, metadata: merged.mapValues { "\($0)" }))
        }
    }
}
