import Foundation
import Testing

@testable import DynamoDB

@Suite struct AttributeValueTests {
    static let everyType: Item = [
        "s": .string("héllo \"world\" \u{0} 😀"),
        "n": .number("1761647400000"),
        "decimal": .number("-0.000123456789012345678901234567890"),
        "b": .binary("AAEC/w=="),
        "bool": .bool(false),
        "null": .null,
        "l": .list([.string("a"), .integer(1), .map(["nested": .bool(true)])]),
        "m": .map(["_id": .string("ATT-001"), "tag": .string("contract")]),
        "ss": .stringSet(["x", "y"]),
        "ns": .numberSet(["1", "2.5"]),
        "empty": .string(""),
    ]

    @Test func everyTypeRoundTripsThroughDynamoDBJSON() throws {
        let json = try JSONEncoder().encode(Self.everyType)
        #expect(try JSONDecoder().decode(Item.self, from: json) == Self.everyType)
    }

    @Test func encodesDynamoDBsWireForm() throws {
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(["t": AttributeValue.integer(42), "r": .bool(true), "z": .null]))
        let object = try #require(json as? [String: [String: Any]])
        #expect(object["t"]?["N"] as? String == "42")
        #expect(object["r"]?["BOOL"] as? Bool == true)
        #expect(object["z"]?["NULL"] as? Bool == true)
    }

    @Test func refusesAValueWithoutExactlyOneType() {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AttributeValue.self, from: Data(#"{"S":"a","N":"1"}"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AttributeValue.self, from: Data("{}".utf8)) }
    }
}
