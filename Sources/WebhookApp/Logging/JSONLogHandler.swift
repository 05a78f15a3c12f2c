import Foundation
import JSON
import Logging
import MessageStore
import Synchronization

#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// Writes each log record as one JSON object on one line.
///
/// Keys: `timestamp` (UTC, milliseconds), `level` (upper case), `message`, `logger`, then
/// the metadata. Hummingbird's `hb.request.id` is written as `request_id`, the spec's name.
/// Numbers logged as `.stringConvertible` stay JSON numbers (`response_time_ms`).
public struct JSONLogHandler: LogHandler {
    /// Where finished lines go: standard output unless a test captures them.
    public typealias Output = @Sendable (String) -> Void

    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    private let label: String
    private let output: Output

    /// Creates a handler.
    /// - Parameters:
    ///   - label: The logger's label, written as `logger`.
    ///   - logLevel: The least severe level written.
    ///   - output: Receives each line, without its newline.
    public init(label: String, logLevel: Logger.Level = .info, output: @escaping Output = JSONLogHandler.standardOutput) {
        self.label = label
        self.logLevel = logLevel
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, provided in provided } }
        if let explicit = event.metadata { merged.merge(explicit) { _, explicit in explicit } }
        let now = UnixTime.nowMilliseconds()

        var writer = JSONWriter()
        writer.object { line in
            line.field("timestamp", ISO8601.string(fromUnixMilliseconds: now, fractionalSeconds: true))
            line.field("level", Self.levelNames[event.level]!)
            line.field("message", event.message.description)
            line.field("logger", label)
            for key in merged.keys.sorted() {
                line.key(key == "hb.request.id" ? "request_id" : key)
                Self.write(merged[key]!, to: &line)
            }
        }
        output(writer.text)
    }

    /// Writes a line to standard output, one line at a time, so concurrent lines never interleave.
    public static let standardOutput: Output = { line in
        var line = line + "\n"
        line.withUTF8 { bytes in
            outputLock.withLock { _ in
                var remaining = UnsafeRawBufferPointer(bytes)
                while !remaining.isEmpty {
                    let written = systemWrite(STDOUT_FILENO, remaining.baseAddress, remaining.count)
                    if written < 0 && errno == EINTR { continue }
                    guard written > 0 else { return }  // nowhere to log to: drop the line, keep serving
                    remaining = UnsafeRawBufferPointer(rebasing: remaining[written...])
                }
            }
        }
    }

    private static let outputLock = Mutex(())

    /// Upper-case level names, made once rather than per line.
    private static let levelNames = Dictionary(uniqueKeysWithValues: Logger.Level.allCases.map { ($0, $0.rawValue.uppercased()) })

    private static func write(_ value: Logger.Metadata.Value, to writer: inout JSONWriter) {
        switch value {
        case .string(let string):
            writer.string(string)
        case .stringConvertible(let convertible):
            switch convertible {
            case let number as any BinaryInteger: writer.integer(number)
            case let number as Double: writer.double(number)
            case let bool as Bool: writer.bool(bool)
            default: writer.string(convertible.description)
            }
        case .array(let values):
            writer.array(values) { list, element in write(element, to: &list) }
        case .dictionary(let dictionary):
            writer.object { object in
                for key in dictionary.keys.sorted() {
                    object.key(key)
                    write(dictionary[key]!, to: &object)
                }
            }
        }
    }
}
