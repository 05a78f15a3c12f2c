import Foundation
import Testing

@testable import DynamoDB

/// The bodies the client writes and reads with its own JSON code, checked against the
/// operations' `Codable` conformances, which name DynamoDB's members.
@Suite struct OperationCodingTests {
    /// The JSON as Foundation reads it, so key order does not matter.
    static func object(_ bytes: some Sequence<UInt8>) throws -> NSDictionary {
        try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    static func expectSameJSON(_ input: some OperationInput & Encodable) throws {
        let written = try object(input.jsonBody)
        let encoded = try object(JSONEncoder().encode(input))
        #expect(written == encoded, "written: \(written)\nencoded: \(encoded)")
    }

    @Test func everyInputWritesWhatEncodableEncodes() throws {
        let item = AttributeValueTests.everyType
        try Self.expectSameJSON(
            PutItemInput(
                tableName: "t", item: item, conditionExpression: "attribute_not_exists(#pk) OR #timestamp < :timestamp",
                expressionAttributeNames: ["#pk": "PK", "#timestamp": "timestamp"], expressionAttributeValues: [":timestamp": .integer(7)],
                returnValues: .allOld
            )
        )
        try Self.expectSameJSON(PutItemInput(tableName: "t", item: ["PK": .string("a")]))
        try Self.expectSameJSON(GetItemInput(tableName: "t", key: ["PK": .string("a"), "SK": .string("b")], consistentRead: true))
        try Self.expectSameJSON(GetItemInput(tableName: "t", key: ["PK": .string("a")]))
        try Self.expectSameJSON(
            UpdateItemInput(
                tableName: "t", key: ["PK": .string("a")], updateExpression: "SET #r = :r", conditionExpression: "attribute_exists(#r)",
                expressionAttributeNames: ["#r": "read"], expressionAttributeValues: [":r": .bool(true)], returnValues: .allNew
            )
        )
        try Self.expectSameJSON(
            QueryInput(
                tableName: "t", keyConditionExpression: "#pk = :pk", expressionAttributeNames: ["#pk": "PK"],
                expressionAttributeValues: [":pk": .string("MESSAGE#QO-1")], limit: 25, exclusiveStartKey: ["PK": .string("x"), "SK": .string("y")],
                consistentRead: true, scanIndexForward: false, projectionExpression: "#pk"
            )
        )
        try Self.expectSameJSON(QueryInput(tableName: "t", keyConditionExpression: "#pk = :pk"))
        try Self.expectSameJSON(
            DeleteItemInput(
                tableName: "t", key: ["PK": .string("a"), "SK": .string("b")], conditionExpression: "#c = :c",
                expressionAttributeNames: ["#c": "claimedBy"], expressionAttributeValues: [":c": .string("w")]
            )
        )
        try Self.expectSameJSON(DeleteItemInput(tableName: "t", key: ["PK": .string("a")]))
        try Self.expectSameJSON(TableNameInput(tableName: "qualia-messages"))
        try Self.expectSameJSON(
            CreateTableInput(
                tableName: "t", attributeDefinitions: [.init(attributeName: "PK", attributeType: .string), .init(attributeName: "SK", attributeType: .number)],
                keySchema: [.init(attributeName: "PK", keyType: .hash), .init(attributeName: "SK", keyType: .range)]
            )
        )
    }

    @Test func escapesStringsAsJSONRequires() throws {
        let text = "quote \" backslash \\ newline \n nul \u{0} del \u{7F} é 😀 slash /"
        let written = try Self.object(PutItemInput(tableName: "t", item: ["text": .string(text)]).jsonBody)
        #expect(((written["Item"] as? NSDictionary)?["text"] as? NSDictionary)?["S"] as? String == text)
    }

    @Test func everyOutputReadsWhatEncodableEncodes() throws {
        let item = AttributeValueTests.everyType
        let page = QueryOutput(items: [item, ["PK": .string("a")]], lastEvaluatedKey: ["PK": .string("a")])
        let query = try QueryOutput.decode(JSONEncoder().encode(page))
        #expect(query.items == [item, ["PK": .string("a")]])
        #expect(query.lastEvaluatedKey == ["PK": .string("a")])
        let lastPage = try QueryOutput.decode(Array(#"{"Items":[],"Count":0,"ScannedCount":0}"#.utf8))
        #expect(lastPage.items.isEmpty && lastPage.lastEvaluatedKey == nil)
        #expect(try QueryOutput.decode(Array("{}".utf8)).items.isEmpty)

        #expect(try ItemWriteOutput.decode(Array("{}".utf8)).attributes == nil)
        #expect(try ItemWriteOutput.decode(JSONEncoder().encode(["Attributes": item])).attributes == item)
        #expect(try GetItemOutput.decode(Array(#"{"Item":null}"#.utf8)).item == nil)
        #expect(try GetItemOutput.decode(JSONEncoder().encode(["Item": item])).item == item)

        let description = #"{"Table":{"TableName":"t","TableStatus":"ACTIVE","ItemCount":3,"CreationDateTime":1761647400.123,"# +
            #""KeySchema":[{"AttributeName":"PK","KeyType":"HASH"},{"AttributeName":"SK","KeyType":"RANGE"}]}}"#
        let table = try DescribeTableOutput.decode(Array(description.utf8)).table
        #expect(table == (try JSONDecoder().decode(DescribeTableOutput.self, from: Data(description.utf8)).table))
        #expect(table.tableStatus == .active)
        #expect(table.keySchema == [.init(attributeName: "PK", keyType: .hash), .init(attributeName: "SK", keyType: .range)])
        let created = try CreateTableOutput.decode(Array(#"{"TableDescription":{"TableName":"t","TableStatus":"CREATING"}}"#.utf8))
        #expect(created.tableDescription.tableStatus == .creating)
    }

    @Test func refusesAnswersNotInTheOperationsShape() {
        #expect(throws: UnreadableResponseError.self) { try ItemWriteOutput.decode(Array(#"{"Attributes":{"a":{"S":"x","N":"1"}}}"#.utf8)) }
        #expect(throws: UnreadableResponseError.self) { try ItemWriteOutput.decode(Array(#"{"Attributes":{"a":{}}}"#.utf8)) }
        #expect(throws: UnreadableResponseError.self) { try GetItemOutput.decode(Array(#"{"Item":{"a":{"N":1}}}"#.utf8)) }
        #expect(throws: UnreadableResponseError.self) { try QueryOutput.decode(Array(#"{"Items":{}}"#.utf8)) }
        #expect(throws: UnreadableResponseError.self) { try DescribeTableOutput.decode(Array("{}".utf8)) }
        #expect(throws: UnreadableResponseError.self) { try GetItemOutput.decode(Array("[]".utf8)) }
        #expect(throws: (any Error).self) { try GetItemOutput.decode(Array("<html>".utf8)) }
    }

    @Test func namesEncodeAsTheirBareStrings() throws {
        #expect(String(decoding: try JSONEncoder().encode([ReturnValues.allOld, .nothing]), as: UTF8.self) == #"["ALL_OLD","NONE"]"#)
        #expect(String(decoding: try JSONEncoder().encode([KeyType.hash, .range]), as: UTF8.self) == #"["HASH","RANGE"]"#)
        #expect(String(decoding: try JSONEncoder().encode([ScalarAttributeType.string]), as: UTF8.self) == #"["S"]"#)
        #expect(String(decoding: try JSONEncoder().encode([BillingMode.payPerRequest]), as: UTF8.self) == #"["PAY_PER_REQUEST"]"#)
    }

    @Test func aTableStatusThisClientDoesNotKnowIsKept() throws {
        let table = try DescribeTableOutput.decode(Array(#"{"Table":{"TableStatus":"ARCHIVING"}}"#.utf8)).table
        #expect(table.tableStatus?.rawValue == "ARCHIVING")
        #expect(table.tableStatus != .active)
        let decoded = try JSONDecoder().decode(TableStatus.self, from: Data(#""ARCHIVING""#.utf8))
        #expect(decoded == table.tableStatus)
    }

    @Test func timeToLiveOperationsWriteAndReadDynamoDBsMembers() throws {
        try Self.expectSameJSON(UpdateTimeToLiveInput(tableName: "t", timeToLiveSpecification: .init(attributeName: "expiresAt", enabled: true)))
        let updated = try UpdateTimeToLiveOutput.decode(Array(#"{"TimeToLiveSpecification":{"AttributeName":"expiresAt","Enabled":true}}"#.utf8))
        #expect(updated.timeToLiveSpecification == .init(attributeName: "expiresAt", enabled: true))
        let described = try DescribeTimeToLiveOutput.decode(
            Array(#"{"TimeToLiveDescription":{"TimeToLiveStatus":"ENABLED","AttributeName":"expiresAt"}}"#.utf8)
        ).timeToLiveDescription
        #expect(described.expires(by: "expiresAt") && !described.expires(by: "other"))
        let off = try DescribeTimeToLiveOutput.decode(Array(#"{"TimeToLiveDescription":{"TimeToLiveStatus":"DISABLED"}}"#.utf8))
        #expect(!off.timeToLiveDescription.expires(by: "expiresAt"))
    }
}
