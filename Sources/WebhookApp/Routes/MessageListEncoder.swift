import JSON
import MessageStore
import NIOCore

/// Writes the answer to a listing in pieces, as its messages arrive, byte for byte as
/// ``MessageListResponse`` writes it whole: `{"order_id":…,"message_type":…,"count":N,"messages":[`,
/// then the messages, then `]}`. `count` comes before the messages, which is why a streamed
/// listing must know it first (see ``MessageListing``).
struct MessageListEncoder: Sendable {
    private var writer = JSONWriter()

    /// Starts the answer: everything before the first message.
    init(orderID: String, messageType: String?, count: Int) {
        writer.beginObject()
        writer.field("order_id", orderID)
        writer.field("message_type", messageType)  // `null`, not absent, without a filter
        writer.field("count", count)
        writer.key("messages")
        writer.beginArray()
    }

    /// Appends messages to the answer.
    mutating func append(_ messages: [StoredMessage]) {
        for message in messages { message.write(to: &writer) }
    }

    /// Ends the answer, after its last message.
    mutating func finish() {
        writer.endArray()
        writer.endObject()
    }

    /// Bytes written and not taken yet.
    var pendingBytes: Int { writer.bytes.count }

    /// The bytes written since the last call, which it removes.
    mutating func takeBuffer() -> ByteBuffer {
        ByteBuffer(bytes: writer.takeBytes())
    }
}
