import JSON

// The bodies of transactions, `UpdateTable` and `Scan`, written and read without Foundation's
// coders; the member names are those of the types' `CodingKeys` (see `OperationCodingTests`).

extension TransactWriteItemsInput: OperationInput {
    func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("TransactItems")
        writer.array(transactItems) { writer, item in
            writer.beginObject()
            switch item {
            case .put(let put):
                writer.key("Put")
                writer.beginObject()
                writer.field("TableName", put.tableName)
                writer.field("Item", item: put.item)
                writer.condition(put.conditionExpression, names: put.expressionAttributeNames, values: put.expressionAttributeValues)
                writer.endObject()
            case .update(let update):
                writer.key("Update")
                writer.beginObject()
                writer.field("TableName", update.tableName)
                writer.field("Key", item: update.key)
                writer.field("UpdateExpression", update.updateExpression)
                writer.condition(update.conditionExpression, names: update.expressionAttributeNames, values: update.expressionAttributeValues)
                writer.endObject()
            case .conditionCheck(let check):
                writer.key("ConditionCheck")
                writer.beginObject()
                writer.field("TableName", check.tableName)
                writer.field("Key", item: check.key)
                writer.condition(check.conditionExpression, names: check.expressionAttributeNames, values: check.expressionAttributeValues)
                writer.endObject()
            }
            writer.endObject()
        }
        writer.field("ClientRequestToken", ifPresent: clientRequestToken)
        writer.endObject()
    }
}

extension TransactGetItemsInput: OperationInput {
    func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("TransactItems")
        writer.array(transactItems) { writer, item in
            writer.beginObject()
            writer.key("Get")
            writer.beginObject()
            writer.field("TableName", item.get.tableName)
            writer.field("Key", item: item.get.key)
            writer.endObject()
            writer.endObject()
        }
        writer.endObject()
    }
}

extension UpdateTableInput: OperationInput {
    func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("TableName", tableName)
        if let attributeDefinitions { writer.attributeDefinitions(attributeDefinitions) }
        if let globalSecondaryIndexUpdates {
            writer.key("GlobalSecondaryIndexUpdates")
            writer.array(globalSecondaryIndexUpdates) { writer, update in
                writer.beginObject()
                if let create = update.create {
                    writer.key("Create")
                    writer.globalSecondaryIndex(create)
                }
                writer.endObject()
            }
        }
        writer.endObject()
    }
}

extension ScanInput: OperationInput {
    func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("TableName", tableName)
        writer.field("FilterExpression", ifPresent: filterExpression)
        writer.field("ExpressionAttributeNames", ifPresent: expressionAttributeNames)
        writer.field("ExpressionAttributeValues", item: expressionAttributeValues)
        writer.field("ProjectionExpression", ifPresent: projectionExpression)
        writer.field("Limit", ifPresent: limit)
        writer.field("ExclusiveStartKey", item: exclusiveStartKey)
        writer.field("ConsistentRead", ifPresent: consistentRead)
        writer.endObject()
    }
}

extension JSONWriter {
    /// Writes a write's condition and the names and values its expressions use, when present.
    mutating func condition(_ expression: String?, names: [String: String]?, values: Item?) {
        field("ConditionExpression", ifPresent: expression)
        field("ExpressionAttributeNames", ifPresent: names)
        field("ExpressionAttributeValues", item: values)
    }
}

extension TransactWriteItemsOutput: OperationOutput {
    init(json: JSONValue) throws(UnreadableResponseError) {
        _ = try ResponseObject(json, "the answer")
    }
}

extension TransactGetItemsOutput: OperationOutput {
    init(json: JSONValue) throws(UnreadableResponseError) {
        let object = try ResponseObject(json, "the answer")
        var responses: [ItemResponse] = []
        for element in try object.array("Responses") ?? [] {
            responses.append(ItemResponse(item: try ResponseObject(element, "an element of Responses").item("Item")))
        }
        self.init(responses: responses)
    }
}

extension UpdateTableOutput: OperationOutput {
    init(json: JSONValue) throws(UnreadableResponseError) {
        tableDescription = try TableDescription(json: try ResponseObject(json, "the answer").required("TableDescription"))
    }
}
