/// Inputs and outputs of the DynamoDB operations this client speaks, with DynamoDB's own
/// member names on the wire. Optional members are left out of requests when `nil`.

/// `PutItem`: writes a whole item, optionally only if a condition holds.
public struct PutItemInput: Sendable, Codable {
    public var tableName: String
    public var item: Item
    public var conditionExpression: String?
    public var expressionAttributeNames: [String: String]?
    public var expressionAttributeValues: Item?
    /// ``ReturnValues/nothing`` or ``ReturnValues/allOld``.
    public var returnValues: ReturnValues?

    public init(
        tableName: String, item: Item, conditionExpression: String? = nil, expressionAttributeNames: [String: String]? = nil,
        expressionAttributeValues: Item? = nil, returnValues: ReturnValues? = nil
    ) {
        self.tableName = tableName
        self.item = item
        self.conditionExpression = conditionExpression
        self.expressionAttributeNames = expressionAttributeNames
        self.expressionAttributeValues = expressionAttributeValues
        self.returnValues = returnValues
    }

    enum CodingKeys: String, CodingKey {
        case tableName = "TableName", item = "Item", conditionExpression = "ConditionExpression"
        case expressionAttributeNames = "ExpressionAttributeNames", expressionAttributeValues = "ExpressionAttributeValues"
        case returnValues = "ReturnValues"
    }
}

/// What `PutItem`, `UpdateItem` and `DeleteItem` answer.
public struct ItemWriteOutput: Sendable, Codable {
    /// The item's attributes, when `ReturnValues` asked for them.
    public var attributes: Item?

    enum CodingKeys: String, CodingKey { case attributes = "Attributes" }
}

/// `GetItem`: one item by its key.
public struct GetItemInput: Sendable, Codable {
    public var tableName: String
    public var key: Item
    /// Read the latest committed data rather than an eventually consistent copy.
    public var consistentRead: Bool?

    public init(tableName: String, key: Item, consistentRead: Bool? = nil) {
        self.tableName = tableName
        self.key = key
        self.consistentRead = consistentRead
    }

    enum CodingKeys: String, CodingKey { case tableName = "TableName", key = "Key", consistentRead = "ConsistentRead" }
}

/// What `GetItem` answers: the item, or `nil` when there is none with that key.
public struct GetItemOutput: Sendable, Codable {
    public var item: Item?

    enum CodingKeys: String, CodingKey { case item = "Item" }
}

/// `UpdateItem`: changes some attributes of one item.
public struct UpdateItemInput: Sendable, Codable {
    public var tableName: String
    public var key: Item
    public var updateExpression: String
    public var conditionExpression: String?
    public var expressionAttributeNames: [String: String]?
    public var expressionAttributeValues: Item?
    /// Any of the ``ReturnValues``.
    public var returnValues: ReturnValues?

    public init(
        tableName: String, key: Item, updateExpression: String, conditionExpression: String? = nil,
        expressionAttributeNames: [String: String]? = nil, expressionAttributeValues: Item? = nil, returnValues: ReturnValues? = nil
    ) {
        self.tableName = tableName
        self.key = key
        self.updateExpression = updateExpression
        self.conditionExpression = conditionExpression
        self.expressionAttributeNames = expressionAttributeNames
        self.expressionAttributeValues = expressionAttributeValues
        self.returnValues = returnValues
    }

    enum CodingKeys: String, CodingKey {
        case tableName = "TableName", key = "Key", updateExpression = "UpdateExpression", conditionExpression = "ConditionExpression"
        case expressionAttributeNames = "ExpressionAttributeNames", expressionAttributeValues = "ExpressionAttributeValues"
        case returnValues = "ReturnValues"
    }
}

/// `DeleteItem`: removes one item by its key, optionally only if a condition holds (a
/// missing item is not an error).
public struct DeleteItemInput: Sendable, Codable {
    public var tableName: String
    public var key: Item
    public var conditionExpression: String?
    public var expressionAttributeNames: [String: String]?
    public var expressionAttributeValues: Item?

    public init(
        tableName: String, key: Item, conditionExpression: String? = nil, expressionAttributeNames: [String: String]? = nil,
        expressionAttributeValues: Item? = nil
    ) {
        self.tableName = tableName
        self.key = key
        self.conditionExpression = conditionExpression
        self.expressionAttributeNames = expressionAttributeNames
        self.expressionAttributeValues = expressionAttributeValues
    }

    enum CodingKeys: String, CodingKey {
        case tableName = "TableName", key = "Key", conditionExpression = "ConditionExpression"
        case expressionAttributeNames = "ExpressionAttributeNames", expressionAttributeValues = "ExpressionAttributeValues"
    }
}

/// `Query`: one page of the items of one partition, in sort-key order, of the table or of
/// one of its secondary indexes.
public struct QueryInput: Sendable, Codable {
    public var tableName: String
    /// The secondary index to query, or `nil` for the table. Global secondary indexes are
    /// eventually consistent: they refuse `ConsistentRead`.
    public var indexName: String?
    public var keyConditionExpression: String
    /// Which of the items read to return; applied after reading, so a page still costs (and
    /// `Limit` still counts) what it read.
    public var filterExpression: String?
    public var expressionAttributeNames: [String: String]?
    public var expressionAttributeValues: Item?
    /// The most items to evaluate for this page.
    public var limit: Int?
    /// Where to continue: the previous page's `LastEvaluatedKey`.
    public var exclusiveStartKey: Item?
    /// Read the latest committed data rather than an eventually consistent copy.
    public var consistentRead: Bool?
    /// `false` for descending sort-key order.
    public var scanIndexForward: Bool?
    /// The attributes to return (`#pk, #sk`, say); every attribute when `nil`. DynamoDB
    /// applies it after reading, so a page still covers at most 1 MB of whole items.
    public var projectionExpression: String?

    public init(
        tableName: String, keyConditionExpression: String, expressionAttributeNames: [String: String]? = nil,
        expressionAttributeValues: Item? = nil, limit: Int? = nil, exclusiveStartKey: Item? = nil, consistentRead: Bool? = nil,
        scanIndexForward: Bool? = nil, projectionExpression: String? = nil, indexName: String? = nil, filterExpression: String? = nil
    ) {
        self.projectionExpression = projectionExpression
        self.tableName = tableName
        self.indexName = indexName
        self.keyConditionExpression = keyConditionExpression
        self.filterExpression = filterExpression
        self.expressionAttributeNames = expressionAttributeNames
        self.expressionAttributeValues = expressionAttributeValues
        self.limit = limit
        self.exclusiveStartKey = exclusiveStartKey
        self.consistentRead = consistentRead
        self.scanIndexForward = scanIndexForward
    }

    enum CodingKeys: String, CodingKey {
        case tableName = "TableName", indexName = "IndexName", keyConditionExpression = "KeyConditionExpression"
        case filterExpression = "FilterExpression"
        case expressionAttributeNames = "ExpressionAttributeNames", expressionAttributeValues = "ExpressionAttributeValues"
        case limit = "Limit", exclusiveStartKey = "ExclusiveStartKey", consistentRead = "ConsistentRead"
        case scanIndexForward = "ScanIndexForward"
        case projectionExpression = "ProjectionExpression"
    }
}

/// One page of a `Query`.
public struct QueryOutput: Sendable, Codable {
    public var items: [Item]
    /// Where the next page starts; `nil` on the last page.
    public var lastEvaluatedKey: Item?

    enum CodingKeys: String, CodingKey { case items = "Items", lastEvaluatedKey = "LastEvaluatedKey" }

    init(items: [Item], lastEvaluatedKey: Item?) {
        self.items = items
        self.lastEvaluatedKey = lastEvaluatedKey
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        items = try container.decodeIfPresent([Item].self, forKey: .items) ?? []
        lastEvaluatedKey = try container.decodeIfPresent(Item.self, forKey: .lastEvaluatedKey)
    }
}

/// `DescribeTable` and `CreateTable` name a table.
public struct TableNameInput: Sendable, Codable {
    public var tableName: String

    public init(tableName: String) { self.tableName = tableName }

    enum CodingKeys: String, CodingKey { case tableName = "TableName" }
}

/// A table's description, as far as this client needs it.
public struct TableDescription: Sendable, Codable, Hashable {
    public var tableName: String?
    /// ``TableStatus/active`` once it can be used.
    public var tableStatus: TableStatus?
    public var keySchema: [KeySchemaElement]?
    /// The table's global secondary indexes and their states; `nil` when it has none.
    public var globalSecondaryIndexes: [GlobalSecondaryIndexDescription]?

    /// The global secondary index with this name, when the table has it.
    public func globalSecondaryIndex(named name: String) -> GlobalSecondaryIndexDescription? {
        globalSecondaryIndexes?.first { $0.indexName == name }
    }

    enum CodingKeys: String, CodingKey {
        case tableName = "TableName", tableStatus = "TableStatus", keySchema = "KeySchema", globalSecondaryIndexes = "GlobalSecondaryIndexes"
    }
}

/// What `DescribeTable` answers.
public struct DescribeTableOutput: Sendable, Codable {
    public var table: TableDescription

    enum CodingKeys: String, CodingKey { case table = "Table" }
}

/// One key attribute of a table.
public struct KeySchemaElement: Sendable, Codable, Hashable {
    public var attributeName: String
    /// ``KeyType/hash`` (partition key) or ``KeyType/range`` (sort key).
    public var keyType: KeyType

    public init(attributeName: String, keyType: KeyType) {
        self.attributeName = attributeName
        self.keyType = keyType
    }

    enum CodingKeys: String, CodingKey { case attributeName = "AttributeName", keyType = "KeyType" }
}

/// The type of a key attribute.
public struct AttributeDefinition: Sendable, Codable, Hashable {
    public var attributeName: String
    public var attributeType: ScalarAttributeType

    public init(attributeName: String, attributeType: ScalarAttributeType) {
        self.attributeName = attributeName
        self.attributeType = attributeType
    }

    enum CodingKeys: String, CodingKey { case attributeName = "AttributeName", attributeType = "AttributeType" }
}

/// `CreateTable`.
public struct CreateTableInput: Sendable, Codable {
    public var tableName: String
    public var attributeDefinitions: [AttributeDefinition]
    public var keySchema: [KeySchemaElement]
    public var billingMode: BillingMode
    /// Global secondary indexes to create with the table; their key attributes need
    /// ``attributeDefinitions`` too.
    public var globalSecondaryIndexes: [GlobalSecondaryIndex]?

    public init(
        tableName: String, attributeDefinitions: [AttributeDefinition], keySchema: [KeySchemaElement], billingMode: BillingMode = .payPerRequest,
        globalSecondaryIndexes: [GlobalSecondaryIndex]? = nil
    ) {
        self.tableName = tableName
        self.attributeDefinitions = attributeDefinitions
        self.keySchema = keySchema
        self.billingMode = billingMode
        self.globalSecondaryIndexes = globalSecondaryIndexes
    }

    enum CodingKeys: String, CodingKey {
        case tableName = "TableName", attributeDefinitions = "AttributeDefinitions", keySchema = "KeySchema", billingMode = "BillingMode"
        case globalSecondaryIndexes = "GlobalSecondaryIndexes"
    }
}

/// What `CreateTable` answers.
public struct CreateTableOutput: Sendable, Codable {
    public var tableDescription: TableDescription

    enum CodingKeys: String, CodingKey { case tableDescription = "TableDescription" }
}
