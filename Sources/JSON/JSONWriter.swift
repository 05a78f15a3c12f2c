/// Writes JSON text with keys in the order they are written.
///
/// Foundation's `JSONEncoder` on Linux orders keys unpredictably; answers and log lines use
/// this instead, so the same data always gives the same bytes, in the spec's field order.
/// It writes UTF-8 bytes and copies strings in runs between the bytes that need escaping, as
/// answers with many messages spend most of their time here.
public struct JSONWriter: Sendable {
    /// The UTF-8 bytes written so far.
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    /// Creates an empty writer with room for about `capacity` bytes.
    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// The JSON written so far, as text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Writes `{`, then `fields`, then `}`.
    public mutating func object(_ fields: (inout JSONWriter) -> Void) {
        beginObject()
        fields(&self)
        endObject()
    }

    /// Writes `[`, then each element, then `]`.
    public mutating func array<Element>(_ elements: some Sequence<Element>, _ write: (inout JSONWriter, Element) -> Void) {
        beginArray()
        for element in elements { write(&self, element) }
        endArray()
    }

    /// Writes `{`; the fields written next are the object's, until ``endObject()``. For text
    /// written in pieces (see ``takeBytes()``); otherwise prefer ``object(_:)``.
    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    /// Writes the `}` that closes ``beginObject()``.
    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// Writes `[`; the values written next are the array's, until ``endArray()``.
    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    /// Writes the `]` that closes ``beginArray()``.
    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// The bytes written since the last call, which it removes: lets a long text be sent in
    /// pieces while the writer keeps its place (the next value still gets its comma).
    public mutating func takeBytes() -> [UInt8] {
        defer { bytes.removeAll(keepingCapacity: true) }
        return bytes
    }

    /// Writes an object key; the next value written is its value.
    public mutating func key(_ key: String) {
        separate()
        appendQuoted(key)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Writes an object key already quoted (see ``Key``): for the names a writer writes over
    /// and over, such as an item's attributes in a page of a hundred items.
    public mutating func key(_ key: Key) {
        separate()
        bytes.append(contentsOf: key.quoted)
        needsComma = false
    }

    /// Writes a string, escaped.
    public mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
        needsComma = true
    }

    /// Writes JSON text as it is (a number or literal the caller made).
    public mutating func raw(_ literal: String) {
        separate()
        bytes.append(contentsOf: literal.utf8)
        needsComma = true
    }

    /// Writes an integer.
    public mutating func integer(_ value: some BinaryInteger) {
        guard let value = Int64(exactly: value) else { return raw(String(value)) }
        separate()
        appendDecimal(value)
        needsComma = true
    }
    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) { raw(value ? "true" : "false") }
    /// Writes `null`.
    public mutating func null() { raw("null") }
    /// A finite number; `null` for infinities and NaN, which JSON cannot hold.
    public mutating func double(_ value: Double) { value.isFinite ? raw(String(describing: value)) : null() }

    /// Writes a key and its value (`null` for a `nil` string).
    public mutating func field(_ name: String, _ value: String) { key(name); string(value) }
    public mutating func field(_ name: String, _ value: String?) { key(name); value.map { string($0) } ?? null() }
    public mutating func field(_ name: String, _ value: some BinaryInteger) { key(name); integer(value) }
    public mutating func field(_ name: String, _ value: Bool) { key(name); bool(value) }
    public mutating func field(_ name: String, _ value: Double) { key(name); double(value) }

    /// Writes a key and its value, the key already quoted (see ``Key``).
    public mutating func field(_ name: Key, _ value: String) { key(name); string(value) }
    /// Writes a key and, as one string, `prefix` followed by `rest`, without joining them first.
    public mutating func field(_ name: Key, joining prefix: String, _ rest: String) {
        key(name)
        separate()
        bytes.append(UInt8(ascii: "\""))
        appendEscapedContent(prefix)
        appendEscapedContent(rest)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }
    public mutating func field(_ name: Key, _ value: some BinaryInteger) { key(name); integer(value) }
    public mutating func field(_ name: Key, _ value: Bool) { key(name); bool(value) }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func appendQuoted(_ string: String) {
        bytes.append(UInt8(ascii: "\""))
        appendEscapedContent(string)
        bytes.append(UInt8(ascii: "\""))
    }

    /// A string's bytes, escaped, without quotes.
    private mutating func appendEscapedContent(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            var index = 0
            while index < utf8.count {
                // Control characters, DEL, `"` and `\`; every other byte, multi-byte UTF-8
                // included, is copied as it is.
                let byte = utf8[index]
                if Self.needsEscape[Int(byte)] {
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                    appendEscaped(byte)
                    runStart = index + 1
                }
                index += 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
    }

    /// A whole number's decimal digits, written without making a `String` first.
    private mutating func appendDecimal(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 20 digits, written backwards
        withUnsafeMutableBytes(of: &digits) { buffer in
            var position = buffer.count
            repeat {
                position -= 1
                buffer[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: buffer[position...])
        }
    }

    /// Which bytes a JSON string must escape: control characters, DEL, `"` and `\`.
    private static let needsEscape: [Bool] = (0...255).map { byte in
        byte < 0x20 || byte == 0x7F || byte == Int(UInt8(ascii: "\"")) || byte == Int(UInt8(ascii: "\\"))
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

extension JSONWriter {
    /// An object key quoted once, with its `:`, for keys written many times.
    public struct Key: Sendable {
        /// `"name":` as UTF-8.
        let quoted: [UInt8]

        /// Quotes `name` (escaping what JSON needs).
        public init(_ name: String) {
            var writer = JSONWriter(capacity: name.utf8.count + 3)
            writer.key(name)
            quoted = writer.bytes
        }
    }
}
