/// Any JSON value, parsed without a schema so that validation can name every bad field at
/// once instead of stopping at the first type mismatch.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The JSON type's name, as a client would call it.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The string, when this is one.
    public var stringValue: String? {
        if case .string(let string) = self { string } else { nil }
    }
}
