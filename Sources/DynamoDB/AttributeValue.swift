/// A DynamoDB attribute value in DynamoDB's JSON form (`{"S": "…"}`, `{"N": "42"}`, …).
///
/// Numbers are kept as their decimal text, exactly as DynamoDB does, so nothing is lost to
/// floating point on the way in or out.
public indirect enum AttributeValue: Sendable, Hashable, Codable {
    /// A string (`S`).
    case string(String)
    /// A number, as decimal text (`N`).
    case number(String)
    /// Binary data, base64-encoded (`B`).
    case binary(String)
    /// A boolean (`BOOL`).
    case bool(Bool)
    /// Null (`NULL`).
    case null
    /// A list of values (`L`).
    case list([AttributeValue])
    /// A map of names to values (`M`).
    case map([String: AttributeValue])
    /// A set of strings (`SS`).
    case stringSet([String])
    /// A set of numbers (`NS`).
    case numberSet([String])

    private enum CodingKeys: String, CodingKey {
        case string = "S", number = "N", binary = "B", bool = "BOOL", null = "NULL", list = "L", map = "M"
        case stringSet = "SS", numberSet = "NS"
    }

    /// A number attribute from an integer.
    public static func integer(_ value: some BinaryInteger) -> AttributeValue { .number(String(value)) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let key = container.allKeys.first, container.allKeys.count == 1 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "an attribute value has exactly one type key"))
        }
        switch key {
        case .string: self = .string(try container.decode(String.self, forKey: key))
        case .number: self = .number(try container.decode(String.self, forKey: key))
        case .binary: self = .binary(try container.decode(String.self, forKey: key))
        case .bool: self = .bool(try container.decode(Bool.self, forKey: key))
        case .null: self = .null
        case .list: self = .list(try container.decode([AttributeValue].self, forKey: key))
        case .map: self = .map(try container.decode([String: AttributeValue].self, forKey: key))
        case .stringSet: self = .stringSet(try container.decode([String].self, forKey: key))
        case .numberSet: self = .numberSet(try container.decode([String].self, forKey: key))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .string(let value): try container.encode(value, forKey: .string)
        case .number(let value): try container.encode(value, forKey: .number)
        case .binary(let value): try container.encode(value, forKey: .binary)
        case .bool(let value): try container.encode(value, forKey: .bool)
        case .null: try container.encode(true, forKey: .null)
        case .list(let value): try container.encode(value, forKey: .list)
        case .map(let value): try container.encode(value, forKey: .map)
        case .stringSet(let value): try container.encode(value, forKey: .stringSet)
        case .numberSet(let value): try container.encode(value, forKey: .numberSet)
        }
    }

    /// The string, when this is `S`.
    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    /// The number's text, when this is `N`.
    public var numberText: String? { if case .number(let value) = self { value } else { nil } }
    /// The boolean, when this is `BOOL`.
    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
    /// The elements, when this is `L`.
    public var listValue: [AttributeValue]? { if case .list(let value) = self { value } else { nil } }
    /// The entries, when this is `M`.
    public var mapValue: [String: AttributeValue]? { if case .map(let value) = self { value } else { nil } }
}

/// An item: attribute names to values.
public typealias Item = [String: AttributeValue]
