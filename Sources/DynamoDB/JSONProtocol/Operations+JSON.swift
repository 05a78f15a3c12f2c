import JSON

// Each operation's body, written and read without Foundation's coders; the member names are
// those of the types' `CodingKeys`, which stay the reference (see `OperationCodingTests`).

extension PutItemInput: OperationInput {
    func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("TableName", tableName)
        writer.field("Item", item: item)
        writer.field("ConditionExpression", ifPresent: conditionExpression)
        writer.field("ExpressionAttributeNames", ifPresent: expressionAttributeNames)
        writer.field("ExpressionAttributeValues", item: expressionAttributeValues)
        writer.field("ReturnValues", ifPresent: returnValues)
        writer.endObject()
    }
}

extension GetItemInput: OperationInput {
    func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("TableName", tableName)
        writer.field("Key", item: key)
        writer.field("ConsistentRead", ifPresent: consistentRead)
        writer.endObject()
    }
}

extension UpdateItemInput: OperationInput {
    func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("TableName", tableName)
        writer.field("Key", item: key)
        writer.field("UpdateExpression", updateExpression)
        writer.field("ConditionExpression", ifPresent: conditionExpression)
        writer.field("ExpressionAttributeNames", ifPresent: expressionAttributeNames)
        writer.field("ExpressionAttributeValues", item: expressionAttributeValues)
        writer.field("ReturnValues", ifPresent: returnValues)
        writer.endObject()
    }
}

extension DeleteItemInput: OperationInput {
    func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("TableName", tableName)
        writer.field("Key", item: key)
        writer.field("ConditionExpression", ifPresent: conditionExpression)
        writer.field("ExpressionAttributeNames", ifPresent: expressionAttributeNames)
        writer.field("ExpressionAttributeValues", item: expressionAttributeValues)
        writer.endObject()
    }
}

extension QueryInput: OperationInput {
    func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("TableName", tableName)
        writer.field("IndexName", ifPresent: indexName)
        writer.field("KeyConditionExpression", keyConditionExpression)
        writer.field("FilterExpression", ifPresent: filterExpression)
        writer.field("ExpressionAttributeNames", ifPresent: expressionAttributeNames)
        writer.field("ExpressionAttributeValues", item: expressionAttributeValues)
        writer.field("Limit", ifPresent: limit)
        writer.field("ExclusiveStartKey", item: exclusiveStartKey)
        writer.field("ConsistentRead", ifPresent: consistentRead)
        writer.field("ScanIndexForward", ifPresent: scanIndexForward)
        writer.field("ProjectionExpression", ifPresent: projectionExpression)
        writer.endObject()
    }
}

extension TableNameInput: OperationInput {
    func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("TableName", tableName)
        writer.endObject()
    }
}

extension CreateTableInput: OperationInput {
    func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("TableName", tableName)
        writer.attributeDefinitions(attributeDefinitions)
        writer.keySchema(keySchema)
        writer.field("BillingMode", billingMode.rawValue)
        if let globalSecondaryIndexes {
            writer.key("GlobalSecondaryIndexes")
            writer.array(globalSecondaryIndexes) { $0.globalSecondaryIndex($1) }
        }
        writer.endObject()
    }
}

extension ItemWriteOutput: OperationOutput {
    init(json: JSONValue) throws(UnreadableResponseError) {
        attributes = try ResponseObject(json, "the answer").item("Attributes")
    }
}

extension GetItemOutput: OperationOutput {
    init(json: JSONValue) throws(UnreadableResponseError) {
        item = try ResponseObject(json, "the answer").item("Item")
    }
}

extension QueryOutput: OperationOutput {
    init(json: JSONValue) throws(UnreadableResponseError) {
        let object = try ResponseObject(json, "the answer")
        var items: [Item] = []
        if let elements = try object.array("Items") {
            items.reserveCapacity(elements.count)
            for element in elements { items.append(try Item(attributesIn: element, "an element of Items")) }
        }
        self.init(items: items, lastEvaluatedKey: try object.item("LastEvaluatedKey"))
    }
}

extension TableDescription: OperationOutput {
    init(json: JSONValue) throws(UnreadableResponseError) {
        let object = try ResponseObject(json, "the table description")
        tableName = try object.string("TableName")
        tableStatus = try object.string("TableStatus").map(TableStatus.init(rawValue:))
        keySchema = try object.keySchema()
        globalSecondaryIndexes = try object.array("GlobalSecondaryIndexes").map { elements throws(UnreadableResponseError) in
            var indexes: [GlobalSecondaryIndexDescription] = []
            for element in elements {
                let member = try ResponseObject(element, "an element of GlobalSecondaryIndexes")
                indexes.append(GlobalSecondaryIndexDescription(
                    indexName: try member.string("IndexName"), indexStatus: try member.string("IndexStatus").map(IndexStatus.init(rawValue:)),
                    keySchema: try member.keySchema()
                ))
            }
            return indexes
        }
    }
}

extension DescribeTableOutput: OperationOutput {
    init(json: JSONValue) throws(UnreadableResponseError) {
        table = try TableDescription(json: try ResponseObject(json, "the answer").required("Table"))
    }
}

extension CreateTableOutput: OperationOutput {
    init(json: JSONValue) throws(UnreadableResponseError) {
        tableDescription = try TableDescription(json: try ResponseObject(json, "the answer").required("TableDescription"))
    }
}

extension ResponseObject {
    /// The `KeySchema` member, or `nil` when it is missing.
    func keySchema() throws(UnreadableResponseError) -> [KeySchemaElement]? {
        try array("KeySchema").map { elements throws(UnreadableResponseError) in
            var schema: [KeySchemaElement] = []
            for element in elements {
                let member = try ResponseObject(element, "an element of KeySchema")
                guard let name = try member.string("AttributeName"), let keyType = try member.string("KeyType") else {
                    throw UnreadableResponseError("an element of KeySchema lacks AttributeName or KeyType")
                }
                schema.append(KeySchemaElement(attributeName: name, keyType: KeyType(rawValue: keyType)))
            }
            return schema
        }
    }
}

extension JSONWriter {
    /// Writes `AttributeDefinitions`.
    mutating func attributeDefinitions(_ definitions: [AttributeDefinition]) {
        key("AttributeDefinitions")
        array(definitions) { writer, definition in
            writer.beginObject()
            writer.field("AttributeName", definition.attributeName)
            writer.field("AttributeType", definition.attributeType.rawValue)
            writer.endObject()
        }
    }

    /// Writes `KeySchema`.
    mutating func keySchema(_ schema: [KeySchemaElement]) {
        key("KeySchema")
        array(schema) { writer, element in
            writer.beginObject()
            writer.field("AttributeName", element.attributeName)
            writer.field("KeyType", element.keyType.rawValue)
            writer.endObject()
        }
    }

    /// Writes a global secondary index to create, as one object.
    mutating func globalSecondaryIndex(_ index: GlobalSecondaryIndex) {
        beginObject()
        field("IndexName", index.indexName)
        keySchema(index.keySchema)
        key("Projection")
        beginObject()
        field("ProjectionType", index.projection.projectionType.rawValue)
        if let attributes = index.projection.nonKeyAttributes {
            key("NonKeyAttributes")
            array(attributes) { $0.string($1) }
        }
        endObject()
        endObject()
    }
}
