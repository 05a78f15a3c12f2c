import JSON

/// An operation's answer that reads itself from the parsed JSON body (``JSON/JSONValue``)
/// rather than through Foundation's `JSONDecoder`: the same members, with the same rules as
/// its `Decodable` conformance (an optional member that is missing or `null` is `nil`).
protocol OperationOutput: Decodable, Sendable {
    /// Reads the answer from its JSON body.
    /// - Throws: ``UnreadableResponseError`` when the body is not in the operation's shape.
    init(json: JSONValue) throws(UnreadableResponseError)
}

extension OperationOutput {
    /// Parses an answer's body and reads it.
    /// - Throws: ``JSON/JSONParseError`` when the body is not JSON, ``UnreadableResponseError``
    ///   when it is not in the operation's shape.
    static func decode(_ body: some Collection<UInt8>) throws -> Self {
        try Self(json: try JSONValue.parse(body))
    }
}

/// A DynamoDB answer that is JSON but not in the shape its operation answers with.
struct UnreadableResponseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where in the answer, and what was wrong there.
    var reason: String

    init(_ reason: String) { self.reason = reason }

    var description: String { reason }
}

/// The members of one JSON object of an answer, read by name.
struct ResponseObject {
    private let members: [String: JSONValue]

    /// The object `json` is.
    /// - Throws: ``UnreadableResponseError`` when it is not an object.
    init(_ json: JSONValue, _ what: String) throws(UnreadableResponseError) {
        guard case .object(let members) = json else { throw UnreadableResponseError("\(what) is not an object") }
        self.members = members
    }

    /// A member, or `nil` when it is missing or `null`.
    subscript(_ name: String) -> JSONValue? {
        switch members[name] {
        case nil, .null?: nil
        case let value?: value
        }
    }

    /// A member that must be there.
    func required(_ name: String) throws(UnreadableResponseError) -> JSONValue {
        guard let value = self[name] else { throw UnreadableResponseError("\(name) is missing") }
        return value
    }

    /// A string member, or `nil` when it is missing.
    func string(_ name: String) throws(UnreadableResponseError) -> String? {
        guard let value = self[name] else { return nil }
        guard case .string(let string) = value else { throw UnreadableResponseError("\(name) is not a string") }
        return string
    }

    /// An item member, or `nil` when it is missing.
    func item(_ name: String) throws(UnreadableResponseError) -> Item? {
        try self[name].map { json throws(UnreadableResponseError) in try Item(attributesIn: json, name) }
    }

    /// An array member, or `nil` when it is missing.
    func array(_ name: String) throws(UnreadableResponseError) -> [JSONValue]? {
        guard let value = self[name] else { return nil }
        guard case .array(let elements) = value else { throw UnreadableResponseError("\(name) is not an array") }
        return elements
    }
}

extension Dictionary where Key == String, Value == AttributeValue {
    /// The item a JSON object of attribute values holds.
    init(attributesIn json: JSONValue, _ what: String) throws(UnreadableResponseError) {
        guard case .object(let members) = json else { throw UnreadableResponseError("\(what) is not an object") }
        var item: Item = Dictionary(minimumCapacity: members.count)
        for (name, value) in members { item[name] = try AttributeValue(json: value) }
        self = item
    }
}

extension AttributeValue {
    /// The attribute value a JSON value in DynamoDB's form holds (`{"S":"…"}`): exactly one
    /// type key, as the `Decodable` conformance requires.
    init(json: JSONValue) throws(UnreadableResponseError) {
        guard case .object(let members) = json, members.count == 1, let (type, value) = members.first else {
            throw UnreadableResponseError("an attribute value has exactly one type key")
        }
        func string() throws(UnreadableResponseError) -> String {
            guard case .string(let string) = value else { throw UnreadableResponseError("an attribute value of type \(type) is not a string") }
            return string
        }
        func strings() throws(UnreadableResponseError) -> [String] {
            guard case .array(let elements) = value else { throw UnreadableResponseError("a set attribute value is not an array") }
            var strings: [String] = []
            strings.reserveCapacity(elements.count)
            for element in elements {
                guard case .string(let string) = element else { throw UnreadableResponseError("a set element is not a string") }
                strings.append(string)
            }
            return strings
        }
        switch type {
        case "S": self = .string(try string())
        case "N": self = .number(try string())
        case "B": self = .binary(try string())
        case "BOOL":
            guard case .bool(let bool) = value else { throw UnreadableResponseError("a BOOL attribute value is not a boolean") }
            self = .bool(bool)
        case "NULL": self = .null
        case "L":
            guard case .array(let elements) = value else { throw UnreadableResponseError("an L attribute value is not an array") }
            var list: [AttributeValue] = []
            list.reserveCapacity(elements.count)
            for element in elements { list.append(try AttributeValue(json: element)) }
            self = .list(list)
        case "M": self = .map(try Item(attributesIn: value, "an M attribute value"))
        case "SS": self = .stringSet(try strings())
        case "NS": self = .numberSet(try strings())
        default: throw UnreadableResponseError("an attribute value has an unknown type key")
        }
    }
}
