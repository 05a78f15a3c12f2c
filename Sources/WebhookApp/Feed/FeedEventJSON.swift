import JSON
import MessageStore
import NIOCore

// The change feed's JSON: one event is
// `{"cursor", "kind", "order_id", "message_type", "message_id", "message"}`, where `message`
// is the stored item after the change (``StoredMessage/write(to:)``) and `cursor` resumes
// right after this event, on `/webhook/feed` and `/webhook/stream` alike.

extension FeedEvent {
    /// Writes the event as its JSON object.
    func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field(Keys.cursor, ReaderCursor.feed(after: position).text)
        writer.field(Keys.kind, kind.rawValue)
        writer.field(Keys.orderID, message.orderID)
        writer.field(Keys.messageType, message.messageType.rawValue)
        writer.field(Keys.messageID, message.messageID)
        writer.key(Keys.message)
        message.write(to: &writer)
        writer.endObject()
    }

    /// About how many bytes ``write(to:)`` writes.
    var estimatedJSONBytes: Int { 256 + message.estimatedJSONBytes }

    /// The event's JSON, once, to send to every subscriber as one WebSocket text frame.
    var frame: FeedFrame {
        var writer = JSONWriter(capacity: estimatedJSONBytes)
        write(to: &writer)
        return FeedFrame(position: position, orderID: message.orderID, json: ByteBuffer(bytes: writer.bytes))
    }

    private enum Keys {
        static let cursor = JSONWriter.Key("cursor")
        static let kind = JSONWriter.Key("kind")
        static let orderID = JSONWriter.Key("order_id")
        static let messageType = JSONWriter.Key("message_type")
        static let messageID = JSONWriter.Key("message_id")
        static let message = JSONWriter.Key("message")
    }
}

/// An event encoded once for all of its subscribers.
struct FeedFrame: Sendable {
    /// The event's place in the feed.
    var position: FeedPosition
    /// The order it is of, for subscribers that follow one order.
    var orderID: String
    /// The event's JSON text.
    var json: ByteBuffer
}

/// A page of the feed: `{"events": [...], "next_cursor": "..."}`. `next_cursor` is never
/// `null`: passing it back returns exactly the events after this page, now or later.
struct FeedPageResponse: JSONWritable {
    var page: FeedPage

    var estimatedJSONBytes: Int { page.events.reduce(128) { $0 + $1.estimatedJSONBytes } }

    func write(to writer: inout JSONWriter) {
        writer.object { body in
            body.key("events")
            body.array(page.events) { list, event in event.write(to: &list) }
            body.field("next_cursor", ReaderCursor.feed(after: page.next).text)
        }
    }
}
