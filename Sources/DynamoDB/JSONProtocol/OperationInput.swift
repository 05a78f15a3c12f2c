import JSON

/// An operation's input that writes its own request body, in DynamoDB's JSON 1.0 form, with
/// ``JSON/JSONWriter``: the same JSON as its `Encodable` conformance (key order aside, which
/// JSON leaves free), without the cost of Foundation's `JSONEncoder`. Optional members that
/// are `nil` are left out, as `Encodable` leaves them out.
protocol OperationInput: Encodable, Sendable {
    /// Writes the input as one JSON object.
    func writeJSON(to writer: inout JSONWriter)
}

extension OperationInput {
    /// The request body.
    var jsonBody: [UInt8] {
        var writer = JSONWriter(capacity: 1024)
        writeJSON(to: &writer)
        return writer.bytes
    }
}

extension JSONWriter {
    /// Writes an attribute value in DynamoDB's JSON form (`{"S":"…"}`).
    mutating func attributeValue(_ value: AttributeValue) {
        beginObject()
        switch value {
        case .string(let string): field("S", string)
        case .number(let text): field("N", text)
        case .binary(let base64): field("B", base64)
        case .bool(let bool): field("BOOL", bool)
        case .null: field("NULL", true)
        case .list(let elements):
            key("L")
            array(elements) { $0.attributeValue($1) }
        case .map(let entries):
            key("M")
            item(entries)
        case .stringSet(let strings):
            key("SS")
            array(strings) { $0.string($1) }
        case .numberSet(let texts):
            key("NS")
            array(texts) { $0.string($1) }
        }
        endObject()
    }

    /// Writes an item: an object of attribute names and values.
    mutating func item(_ item: Item) {
        beginObject()
        for (name, value) in item {
            key(name)
            attributeValue(value)
        }
        endObject()
    }

    /// Writes `name` and an item, when there is one.
    mutating func field(_ name: String, item: Item?) {
        guard let item else { return }
        key(name)
        self.item(item)
    }

    /// Writes `name` and a string, when there is one.
    mutating func field(_ name: String, ifPresent value: String?) {
        guard let value else { return }
        field(name, value)
    }

    /// Writes `name` and a DynamoDB name (`"ALL_OLD"`), when there is one.
    mutating func field(_ name: String, ifPresent value: (some DynamoDBName)?) {
        guard let value else { return }
        field(name, value.rawValue)
    }

    /// Writes `name` and a boolean, when there is one.
    mutating func field(_ name: String, ifPresent value: Bool?) {
        guard let value else { return }
        field(name, value)
    }

    /// Writes `name` and an integer, when there is one.
    mutating func field(_ name: String, ifPresent value: Int?) {
        guard let value else { return }
        field(name, value)
    }

    /// Writes `name` and an object of strings, when there is one.
    mutating func field(_ name: String, ifPresent map: [String: String]?) {
        guard let map else { return }
        key(name)
        beginObject()
        for (key, value) in map { field(key, value) }
        endObject()
    }
}
