import Foundation
import HTTPTypes
import HummingbirdWSClient
import JSON
import Logging
import NIOWebSocket
import Synchronization

/// One event as a stream client receives it: the fields every event has, and its whole JSON.
public struct StreamedEvent: Sendable {
    /// Resumes the stream or the feed right after this event.
    public var cursor: String
    /// `message.created`, `message.updated` or `message.read`.
    public var kind: String
    public var orderID: String
    public var messageType: String
    public var messageID: String
    /// The event's JSON object, as received.
    public var json: String
    /// The message's `read` after the change.
    public var read: Bool?

    /// Reads an event from a text frame; `nil` when it is not one.
    public init?(frame text: String) {
        guard case .object(let object)? = try? JSONValue.parse(text.utf8),
            let cursor = object["cursor"]?.stringValue, let kind = object["kind"]?.stringValue,
            let orderID = object["order_id"]?.stringValue, let messageType = object["message_type"]?.stringValue,
            let messageID = object["message_id"]?.stringValue, case .object(let message)? = object["message"]
        else { return nil }
        self.cursor = cursor
        self.kind = kind
        self.orderID = orderID
        self.messageType = messageType
        self.messageID = messageID
        self.json = text
        if case .bool(let read)? = message["read"] { self.read = read } else { self.read = nil }
    }
}

/// A client of `/webhook/stream`: connects with Basic credentials and hands each event to a
/// closure until the closure says stop or the server closes the stream.
public struct FeedStreamClient: Sendable {
    /// The server's base URL, such as `http://localhost:8000`.
    public var baseURL: String
    public var username: String
    public var password: String

    /// Creates a client.
    public init(baseURL: String, username: String, password: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.username = username
        self.password = password
    }

    /// How the stream ended.
    public struct Ending: Sendable {
        /// The close code the server sent, when it closed the stream (1013: too far behind).
        public var closeCode: UInt16?
        /// The reason it gave.
        public var reason: String?
    }

    /// Follows the stream after `cursor` (`nil`: from now on), optionally of one order, calling
    /// `onConnected` once the upgrade succeeded and `onEvent` for each event until it returns `false`.
    public func follow(
        after cursor: String?, orderID: String? = nil, logger: Logger = Logger(label: "feed-stream-client"),
        onConnected: @escaping @Sendable () async -> Void = {}, onEvent: @escaping @Sendable (StreamedEvent) async -> Bool
    ) async throws -> Ending {
        var query: [String] = []
        if let cursor { query.append("after=" + Self.queryEncoded(cursor)) }
        if let orderID { query.append("order_id=" + Self.queryEncoded(orderID)) }
        let scheme = baseURL.hasPrefix("https") ? "wss" : "ws"
        let rest = baseURL.drop(while: { $0 != ":" })
        let url = scheme + rest + "/webhook/stream" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        var headers = HTTPFields()
        headers[.authorization] = "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        let closeFrame = try await WebSocketClient.connect(
            url: url, configuration: .init(maxFrameSize: 8 * 1024 * 1024, additionalHeaders: headers), logger: logger
        ) { inbound, _, _ in
            await onConnected()
            for try await message in inbound.messages(maxSize: 8 * 1024 * 1024) {
                guard case .text(let text) = message, let event = StreamedEvent(frame: text) else { continue }
                if await !onEvent(event) { return }
            }
        }
        return Ending(closeCode: closeFrame.map { UInt16(webSocketErrorCode: $0.closeCode) }, reason: closeFrame?.reason)
    }

    /// The first event after `cursor` (of one order, when given) that `matches`, or `nil` when
    /// the stream ends before one comes.
    public func firstEvent(
        after cursor: String?, orderID: String? = nil, where matches: @escaping @Sendable (StreamedEvent) -> Bool
    ) async throws -> StreamedEvent? {
        let found = FoundEvent()
        _ = try await follow(after: cursor, orderID: orderID) { event in
            guard matches(event) else { return true }
            found.keep(event)
            return false
        }
        return found.event
    }

    private static func queryEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// The event a ``FeedStreamClient/firstEvent(after:orderID:where:)`` found.
private final class FoundEvent: Sendable {
    private let found = Mutex<StreamedEvent?>(nil)
    var event: StreamedEvent? { found.withLock { $0 } }
    func keep(_ event: StreamedEvent) { found.withLock { $0 = event } }
}
