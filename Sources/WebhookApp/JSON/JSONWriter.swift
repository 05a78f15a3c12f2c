import Hummingbird
import HTTPTypes
import MessageStore
import NIOCore

/// Writes JSON text with keys in the order they are written.
///
/// Foundation's `JSONEncoder` on Linux orders keys unpredictably; answers and log lines use
/// this instead, so the same data always gives the same bytes, in the spec's field order.
/// It writes UTF-8 bytes and copies strings in runs between the bytes that need escaping, as
/// answers with many messages spend most of their time here.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var needsComma = false

    /// Creates an empty writer with room for about `capacity` bytes.
    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// The JSON written so far, as text.
    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Writes `{`, then `fields`, then `}`.
    mutating func object(_ fields: (inout JSONWriter) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        fields(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// Writes `[`, then each element, then `]`.
    mutating func array<Element>(_ elements: some Sequence<Element>, _ write: (inout JSONWriter, Element) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
        for element in elements { write(&self, element) }
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes an object key; the next value written is its value.
    mutating func key(_ key: String) {
        separate()
        appendQuoted(key)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
        needsComma = true
    }

    mutating func raw(_ literal: String) {
        separate()
        bytes.append(contentsOf: literal.utf8)
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
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func appendQuoted(_ string: String) {
        bytes.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                // Control characters, DEL, `"` and `\`; every other byte, multi-byte UTF-8
                // included, is copied as it is.
                guard byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                appendEscaped(byte)
                runStart = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
        case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
        case UInt8(ascii: "\n"): bytes.append(contentsOf: #"\n"#.utf8)
        case UInt8(ascii: "\r"): bytes.append(contentsOf: #"\r"#.utf8)
        case UInt8(ascii: "\t"): bytes.append(contentsOf: #"\t"#.utf8)
        default:
            let hexDigits = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: #"\u00"#.utf8)
            bytes.append(hexDigits[Int(byte >> 4)])
            bytes.append(hexDigits[Int(byte & 0x0F)])
        }
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

    /// The value's JSON, ready to be a response body.
    var jsonBody: ByteBuffer {
        var writer = JSONWriter()
        write(to: &writer)
        return ByteBuffer(bytes: writer.bytes)
    }

    /// A response with this value as its JSON body.
    func jsonResponse(status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        .json(jsonBody, status: status, headers: headers)
    }
}

extension Response {
    /// A response whose body is JSON already encoded.
    static func json(_ body: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
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
