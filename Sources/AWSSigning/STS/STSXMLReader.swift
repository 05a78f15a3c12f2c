/// A small, strict reader for the XML that STS answers with (the query protocol's answers):
/// elements, text, the five predefined entities and numeric character references, an
/// optional `<?xml …?>` declaration, comments, and attributes (checked, then ignored).
///
/// Anything else is refused: a DOCTYPE (so no entity expansion), CDATA, processing
/// instructions after the declaration, mismatched or unclosed tags, text outside the root,
/// more than ``maximumDepth`` levels or ``maximumBytes`` bytes. It reads in one pass with
/// no recursion, so no input can make it crash or loop; every refusal is an
/// ``STSXMLReader/Failure`` that says where, never what the text was (it may hold a secret).
struct STSXMLReader {
    /// One element: its name (with any prefix), its children in order, and its text (the
    /// concatenation of its text children, entities resolved).
    struct Element: Sendable, Hashable {
        var name: String
        var children: [Element] = []
        var text: String = ""

        /// The only child named `name`; `nil` when there is none.
        /// - Throws: ``Failure`` when there are several.
        func child(_ name: String) throws(Failure) -> Element? {
            var found: Element?
            for child in children where child.name == name {
                if found != nil { throw Failure("more than one <\(name)> in <\(self.name)>") }
                found = child
            }
            return found
        }

        /// The only child named `name`.
        /// - Throws: ``Failure`` when there is none or several.
        func requiredChild(_ name: String) throws(Failure) -> Element {
            guard let found = try child(name) else { throw Failure("no <\(name)> in <\(self.name)>") }
            return found
        }
    }

    /// Why an answer could not be read. Says where, never quotes the document.
    struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        var reason: String
        init(_ reason: String) { self.reason = reason }
        var description: String { "unreadable XML: \(reason)" }
    }

    /// The most nested elements accepted; STS answers use four.
    static let maximumDepth = 16
    /// The largest document accepted; STS answers are a few kilobytes.
    static let maximumBytes = 256 * 1024

    /// Reads a whole document and returns its root element.
    /// - Throws: ``Failure`` for anything but one well-formed root element of the kinds above.
    static func parse(_ bytes: [UInt8]) throws(Failure) -> Element {
        guard bytes.count <= maximumBytes else { throw Failure("the document is larger than \(maximumBytes) bytes") }
        var reader = Cursor(bytes: bytes)
        var stack: [Element] = []
        var root: Element?
        reader.skipByteOrderMark()
        if reader.hasPrefix("<?xml") { try reader.skipDeclaration() }
        while !reader.isAtEnd {
            if reader.peek() == UInt8(ascii: "<") {
                if reader.hasPrefix("<!--") {
                    try reader.skipComment()
                } else if reader.hasPrefix("</") {
                    let name = try reader.readClosingTag()
                    guard let closed = stack.popLast() else { throw Failure("a closing tag at byte \(reader.offset) has no opening tag") }
                    guard closed.name == name else { throw Failure("a closing tag at byte \(reader.offset) does not match <\(closed.name)>") }
                    if stack.isEmpty {
                        root = closed
                    } else {
                        stack[stack.count - 1].children.append(closed)
                    }
                } else if reader.hasPrefix("<!") || reader.hasPrefix("<?") {
                    throw Failure("a DOCTYPE, CDATA section or processing instruction at byte \(reader.offset)")
                } else {
                    guard root == nil else { throw Failure("a second root element at byte \(reader.offset)") }
                    let (name, isEmpty) = try reader.readOpeningTag()
                    guard stack.count < maximumDepth else { throw Failure("elements nested deeper than \(maximumDepth)") }
                    let element = Element(name: name)
                    if isEmpty {
                        if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
                    } else {
                        stack.append(element)
                    }
                }
            } else {
                let text = try reader.readText()
                if stack.isEmpty {
                    guard text.allSatisfy({ $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }) else {
                        throw Failure("text outside the root element at byte \(reader.offset)")
                    }
                } else {
                    stack[stack.count - 1].text += text
                }
            }
        }
        guard stack.isEmpty else { throw Failure("<\(stack[stack.count - 1].name)> is never closed") }
        guard let root else { throw Failure("no root element") }
        return root
    }
}

extension STSXMLReader {
    /// The bytes being read and the position in them.
    private struct Cursor {
        let bytes: [UInt8]
        var offset = 0

        var isAtEnd: Bool { offset >= bytes.count }

        func peek() -> UInt8? { offset < bytes.count ? bytes[offset] : nil }

        func hasPrefix(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard bytes.count - offset >= count else { return false }
            let pointer = text.utf8Start
            for index in 0..<count where bytes[offset + index] != pointer[index] { return false }
            return true
        }

        mutating func skipByteOrderMark() {
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { offset = 3 }
        }

        /// `<?xml …?>`, which only a document's start may hold.
        mutating func skipDeclaration() throws(Failure) {
            try skip(past: "?>", what: "the XML declaration")
        }

        mutating func skipComment() throws(Failure) {
            offset += 4
            try skip(past: "-->", what: "a comment")
        }

        private mutating func skip(past terminator: StaticString, what: String) throws(Failure) {
            while !isAtEnd {
                if hasPrefix(terminator) {
                    offset += terminator.utf8CodeUnitCount
                    return
                }
                offset += 1
            }
            throw Failure("\(what) is never closed")
        }

        /// `<name attr="value" …>` or `<name … />`, from its `<`.
        mutating func readOpeningTag() throws(Failure) -> (name: String, isEmpty: Bool) {
            offset += 1
            let name = try readName()
            while true {
                let hadSpace = skipSpace()
                guard let byte = peek() else { throw Failure("a tag is never closed") }
                if byte == UInt8(ascii: ">") {
                    offset += 1
                    return (name, false)
                }
                if byte == UInt8(ascii: "/") {
                    offset += 1
                    guard peek() == UInt8(ascii: ">") else { throw Failure("a malformed empty tag at byte \(offset)") }
                    offset += 1
                    return (name, true)
                }
                guard hadSpace else { throw Failure("a malformed tag at byte \(offset)") }
                try skipAttribute()
            }
        }

        /// `</name>`, from its `<`.
        mutating func readClosingTag() throws(Failure) -> String {
            offset += 2
            let name = try readName()
            skipSpace()
            guard peek() == UInt8(ascii: ">") else { throw Failure("a malformed closing tag at byte \(offset)") }
            offset += 1
            return name
        }

        /// `name="value"` or `name='value'`; the value may hold references but no `<`.
        private mutating func skipAttribute() throws(Failure) {
            _ = try readName()
            skipSpace()
            guard peek() == UInt8(ascii: "=") else { throw Failure("an attribute without a value at byte \(offset)") }
            offset += 1
            skipSpace()
            guard let quote = peek(), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
                throw Failure("an unquoted attribute value at byte \(offset)")
            }
            offset += 1
            while let byte = peek(), byte != quote {
                guard byte != UInt8(ascii: "<") else { throw Failure("a '<' in an attribute value at byte \(offset)") }
                if byte == UInt8(ascii: "&") { _ = try readReference() } else { offset += 1 }
            }
            guard !isAtEnd else { throw Failure("an attribute value is never closed") }
            offset += 1
        }

        /// An element or attribute name: ASCII letters, digits, `_ - . :`, not starting with a
        /// digit, `-`, `.` or `:`, or any non-ASCII byte (names are UTF-8).
        private mutating func readName() throws(Failure) -> String {
            let start = offset
            while let byte = peek(), Self.isNameByte(byte) { offset += 1 }
            guard offset > start else { throw Failure("a missing name at byte \(offset)") }
            let first = bytes[start]
            guard !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first), first != UInt8(ascii: "-"), first != UInt8(ascii: "."),
                first != UInt8(ascii: ":")
            else { throw Failure("a name starts with a digit or punctuation at byte \(start)") }
            guard let name = String(validating: bytes[start..<offset], as: UTF8.self) else { throw Failure("a name is not UTF-8 at byte \(start)") }
            return name
        }

        private static func isNameByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ":"), 0x80...0xFF:
                true
            default: false
            }
        }

        @discardableResult
        private mutating func skipSpace() -> Bool {
            let start = offset
            while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { offset += 1 }
            return offset > start
        }

        /// Text up to the next `<`, references resolved. `>` alone is allowed, as in XML.
        mutating func readText() throws(Failure) -> String {
            var text: [UInt8] = []
            while let byte = peek(), byte != UInt8(ascii: "<") {
                if byte == UInt8(ascii: "&") {
                    text += try readReference()
                } else {
                    guard byte >= 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D else {
                        throw Failure("a control character at byte \(offset)")
                    }
                    text.append(byte)
                    offset += 1
                }
            }
            guard let string = String(validating: text, as: UTF8.self) else { throw Failure("text that is not UTF-8 before byte \(offset)") }
            return string
        }

        /// `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` `&#NN;` `&#xHH;`, from its `&`, as UTF-8.
        private mutating func readReference() throws(Failure) -> [UInt8] {
            let start = offset
            offset += 1
            var body: [UInt8] = []
            while let byte = peek(), byte != UInt8(ascii: ";") {
                guard body.count < 10 else { throw Failure("an unterminated reference at byte \(start)") }
                body.append(byte)
                offset += 1
            }
            guard !isAtEnd else { throw Failure("an unterminated reference at byte \(start)") }
            offset += 1
            switch String(decoding: body, as: UTF8.self) {
            case "amp": return [UInt8(ascii: "&")]
            case "lt": return [UInt8(ascii: "<")]
            case "gt": return [UInt8(ascii: ">")]
            case "quot": return [UInt8(ascii: "\"")]
            case "apos": return [UInt8(ascii: "'")]
            case let numeric where numeric.hasPrefix("#"):
                let digits = numeric.dropFirst()
                let value: UInt32?
                if digits.first == "x" {
                    let hex = digits.dropFirst()
                    value = !hex.isEmpty && hex.allSatisfy(\.isHexDigit) ? UInt32(hex, radix: 16) : nil
                } else {
                    value = !digits.isEmpty && digits.allSatisfy({ ("0"..."9").contains($0) }) ? UInt32(digits, radix: 10) : nil
                }
                guard let value, let scalar = Unicode.Scalar(value), value >= 0x20 || value == 0x09 || value == 0x0A || value == 0x0D else {
                    throw Failure("a character reference to no allowed character at byte \(start)")
                }
                return Array(String(Character(scalar)).utf8)
            default:
                throw Failure("an unknown entity at byte \(start)")
            }
        }
    }
}
