import Hummingbird
import HTTPTypes
import MessageStore
import NIOCore

/// Writes JSON text with keys in the order they are written.
///
/// Foundation's `JSONEncoder` on Linux orders keys unpredictably; answers and log lines use
/// this instead, so the same data always gives the same bytes, in the spec's field order.
struct JSONWriter {
    private(set) var text = ""
    private var needsComma = false

    /// Writes `{`, then `fields`, then `}`.
    mutating func object(_ fields: (inout JSONWriter) -> Void) {
        separate()
        text += "{"
        needsComma = false
        fields(&self)
        text += "}"
        needsComma = true
    }

    /// Writes `[`, then each element, then `]`.
    mutating func array<Element>(_ elements: some Sequence<Element>, _ write: (inout JSONWriter, Element) -> Void) {
        separate()
        text += "["
        needsComma = false
        for element in elements { write(&self, element) }
        text += "]"
        needsComma = true
    }

    /// Writes an object key; the next value written is its value.
    mutating func key(_ key: String) {
        separate()
        appendQuoted(key)
        text += ":"
        needsComma = false
    }

    mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
        needsComma = true
    }

    mutating func raw(_ literal: String) {
        separate()
        text += literal
        needsComma = true
    }

    mutating func integer(_ value: some BinaryInteger) { raw(String(value)) }
    mutating func bool(_ value: Bool) { raw(value ? "true" : "false") }
    mutating func null() { raw("null") }
    /// A finite number; `null` for infinities and NaN, which JSON cannot hold.
    mutating func double(_ value: Double) { value.isFinite ? raw(String(describing: value)) : null() }

    mutating func field(_ name: String, _ value: String) { key(name); string(value) }
    mutating func field(_ name: String, _ value: String?) { key(name); value.map { string($0) } ?? null() }
    mutating func field(_ name: String, _ value: some BinaryInteger) { key(name); integer(value) }
    mutating func field(_ name: String, _ value: Bool) { key(name); bool(value) }
    mutating func field(_ name: String, _ value: Double) { key(name); double(value) }

    private mutating func separate() {
        if needsComma { text += "," }
    }

    private mutating func appendQuoted(_ string: String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}

/// A value that writes itself as JSON, and so can be a response body.
protocol JSONWritable: ResponseGenerator {
    func write(to writer: inout JSONWriter)
}

extension JSONWritable {
    /// The value's JSON text.
    var jsonText: String {
        var writer = JSONWriter()
        write(to: &writer)
        return writer.text
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        jsonResponse(status: .ok)
    }

    /// A response with this value as its JSON body.
    func jsonResponse(status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: jsonText)))
    }
}

extension StoredMessage {
    /// Writes the item with the spec's attribute names in the spec's order; `orderNumber`
    /// and `attachments` only when present.
    func write(to writer: inout JSONWriter) {
        writer.object { item in
            item.field("PK", partitionKey)
            item.field("SK", sortKey)
            item.field("orderId", orderID)
            item.field("messageId", messageID)
            item.field("messageType", messageType.rawValue)
            item.field("fromName", fromName)
            item.field("text", text)
            item.field("createdDate", createdDate)
            item.field("read", read)
            item.field("timestamp", timestamp)
            item.field("storedAt", storedAt)
            if let orderNumber { item.field("orderNumber", orderNumber) }
            if let attachments {
                item.key("attachments")
                item.array(attachments) { list, attachment in
                    list.object { object in
                        object.field("_id", attachment.id)
                        object.field("name", attachment.name)
                        object.field("url", attachment.url)
                        if let tag = attachment.tag { object.field("tag", tag) }
                    }
                }
            }
        }
    }
}
