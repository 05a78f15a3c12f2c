/// Global secondary indexes (declared by `CreateTable`, added by `UpdateTable`, reported by
/// `DescribeTable`) and `Scan`, with DynamoDB's own member names on the wire.

/// What a secondary index copies from the table.
public struct Projection: Sendable, Codable, Hashable {
    public var projectionType: ProjectionType
    /// The attributes copied besides the keys, for ``ProjectionType/include``.
    public var nonKeyAttributes: [String]?

    public init(projectionType: ProjectionType, nonKeyAttributes: [String]? = nil) {
        self.projectionType = projectionType
        self.nonKeyAttributes = nonKeyAttributes
    }

    enum CodingKeys: String, CodingKey { case projectionType = "ProjectionType", nonKeyAttributes = "NonKeyAttributes" }
}

/// A global secondary index to create (in `CreateTable`, or `UpdateTable`'s `Create`). On an
/// on-demand table it takes no throughput settings.
public struct GlobalSecondaryIndex: Sendable, Codable, Hashable {
    public var indexName: String
    public var keySchema: [KeySchemaElement]
    public var projection: Projection

    public init(indexName: String, keySchema: [KeySchemaElement], projection: Projection) {
        self.indexName = indexName
        self.keySchema = keySchema
        self.projection = projection
    }

    enum CodingKeys: String, CodingKey { case indexName = "IndexName", keySchema = "KeySchema", projection = "Projection" }
}

/// A global secondary index as `DescribeTable` reports it, as far as this client needs it.
public struct GlobalSecondaryIndexDescription: Sendable, Codable, Hashable {
    public var indexName: String?
    /// ``IndexStatus/active`` once it can be queried.
    public var indexStatus: IndexStatus?
    public var keySchema: [KeySchemaElement]?

    public init(indexName: String?, indexStatus: IndexStatus?, keySchema: [KeySchemaElement]? = nil) {
        self.indexName = indexName
        self.indexStatus = indexStatus
        self.keySchema = keySchema
    }

    enum CodingKeys: String, CodingKey { case indexName = "IndexName", indexStatus = "IndexStatus", keySchema = "KeySchema" }
}

/// `UpdateTable`, as this client uses it: adds global secondary indexes to a table.
public struct UpdateTableInput: Sendable, Codable {
    public var tableName: String
    /// The types of the new indexes' key attributes.
    public var attributeDefinitions: [AttributeDefinition]?
    public var globalSecondaryIndexUpdates: [GlobalSecondaryIndexUpdate]?

    public init(tableName: String, attributeDefinitions: [AttributeDefinition]? = nil, globalSecondaryIndexUpdates: [GlobalSecondaryIndexUpdate]? = nil) {
        self.tableName = tableName
        self.attributeDefinitions = attributeDefinitions
        self.globalSecondaryIndexUpdates = globalSecondaryIndexUpdates
    }

    enum CodingKeys: String, CodingKey {
        case tableName = "TableName", attributeDefinitions = "AttributeDefinitions", globalSecondaryIndexUpdates = "GlobalSecondaryIndexUpdates"
    }
}

/// One change to a table's global secondary indexes; this client only creates them.
public struct GlobalSecondaryIndexUpdate: Sendable, Codable, Hashable {
    public var create: GlobalSecondaryIndex?

    public init(create: GlobalSecondaryIndex) { self.create = create }

    enum CodingKeys: String, CodingKey { case create = "Create" }
}

/// What `UpdateTable` answers.
public struct UpdateTableOutput: Sendable, Codable {
    public var tableDescription: TableDescription

    enum CodingKeys: String, CodingKey { case tableDescription = "TableDescription" }
}

/// `Scan`: one page of every item of a table, optionally filtered (the filter is applied
/// after reading, so a page still costs what it read).
public struct ScanInput: Sendable, Codable {
    public var tableName: String
    public var filterExpression: String?
    public var expressionAttributeNames: [String: String]?
    public var expressionAttributeValues: Item?
    /// The attributes to return; every attribute when `nil`.
    public var projectionExpression: String?
    /// The most items to evaluate for this page.
    public var limit: Int?
    /// Where to continue: the previous page's `LastEvaluatedKey`.
    public var exclusiveStartKey: Item?
    /// Read the latest committed data rather than an eventually consistent copy.
    public var consistentRead: Bool?

    public init(
        tableName: String, filterExpression: String? = nil, expressionAttributeNames: [String: String]? = nil,
        expressionAttributeValues: Item? = nil, projectionExpression: String? = nil, limit: Int? = nil, exclusiveStartKey: Item? = nil,
        consistentRead: Bool? = nil
    ) {
        self.tableName = tableName
        self.filterExpression = filterExpression
        self.expressionAttributeNames = expressionAttributeNames
        self.expressionAttributeValues = expressionAttributeValues
        self.projectionExpression = projectionExpression
        self.limit = limit
        self.exclusiveStartKey = exclusiveStartKey
        self.consistentRead = consistentRead
    }

    enum CodingKeys: String, CodingKey {
        case tableName = "TableName", filterExpression = "FilterExpression"
        case expressionAttributeNames = "ExpressionAttributeNames", expressionAttributeValues = "ExpressionAttributeValues"
        case projectionExpression = "ProjectionExpression", limit = "Limit", exclusiveStartKey = "ExclusiveStartKey"
        case consistentRead = "ConsistentRead"
    }
}

/// One page of a `Scan`: the same members as a `Query` page.
public typealias ScanOutput = QueryOutput
