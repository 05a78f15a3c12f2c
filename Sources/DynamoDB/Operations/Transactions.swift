/// `TransactWriteItems` and `TransactGetItems`: several items written, or read, in one
/// all-or-nothing step, with DynamoDB's own member names on the wire.

/// `TransactWriteItems`: up to 100 writes that succeed or fail together. Each may carry a
/// condition; when one is false, nothing is written and the call fails with
/// `TransactionCanceledException`, whose ``DynamoDBError/cancellationReasons`` say which.
///
/// With a `ClientRequestToken`, the call is idempotent for ten minutes: an attempt the
/// client retries after losing its answer is not applied twice, and succeeds again.
public struct TransactWriteItemsInput: Sendable, Codable {
    public var transactItems: [TransactWriteItem]
    public var clientRequestToken: String?

    public init(transactItems: [TransactWriteItem], clientRequestToken: String? = nil) {
        self.transactItems = transactItems
        self.clientRequestToken = clientRequestToken
    }

    enum CodingKeys: String, CodingKey { case transactItems = "TransactItems", clientRequestToken = "ClientRequestToken" }
}

/// One write of a transaction: a whole item, some attributes of one, or only a condition.
public enum TransactWriteItem: Sendable, Codable, Hashable {
    /// Writes a whole item (`Put`).
    case put(TransactPut)
    /// Changes some attributes of one item (`Update`).
    case update(TransactUpdate)
    /// Writes nothing, but cancels the transaction unless its condition holds (`ConditionCheck`).
    case conditionCheck(TransactConditionCheck)

    enum CodingKeys: String, CodingKey { case put = "Put", update = "Update", conditionCheck = "ConditionCheck" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let put = try container.decodeIfPresent(TransactPut.self, forKey: .put) {
            self = .put(put)
        } else if let update = try container.decodeIfPresent(TransactUpdate.self, forKey: .update) {
            self = .update(update)
        } else {
            self = .conditionCheck(try container.decode(TransactConditionCheck.self, forKey: .conditionCheck))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .put(let put): try container.encode(put, forKey: .put)
        case .update(let update): try container.encode(update, forKey: .update)
        case .conditionCheck(let check): try container.encode(check, forKey: .conditionCheck)
        }
    }
}

/// A transaction's `Put`: a whole item, optionally only if a condition holds.
public struct TransactPut: Sendable, Codable, Hashable {
    public var tableName: String
    public var item: Item
    public var conditionExpression: String?
    public var expressionAttributeNames: [String: String]?
    public var expressionAttributeValues: Item?

    public init(
        tableName: String, item: Item, conditionExpression: String? = nil, expressionAttributeNames: [String: String]? = nil,
        expressionAttributeValues: Item? = nil
    ) {
        self.tableName = tableName
        self.item = item
        self.conditionExpression = conditionExpression
        self.expressionAttributeNames = expressionAttributeNames
        self.expressionAttributeValues = expressionAttributeValues
    }

    enum CodingKeys: String, CodingKey {
        case tableName = "TableName", item = "Item", conditionExpression = "ConditionExpression"
        case expressionAttributeNames = "ExpressionAttributeNames", expressionAttributeValues = "ExpressionAttributeValues"
    }
}

/// A transaction's `Update`: some attributes of one item, optionally only if a condition holds.
public struct TransactUpdate: Sendable, Codable, Hashable {
    public var tableName: String
    public var key: Item
    public var updateExpression: String
    public var conditionExpression: String?
    public var expressionAttributeNames: [String: String]?
    public var expressionAttributeValues: Item?

    public init(
        tableName: String, key: Item, updateExpression: String, conditionExpression: String? = nil,
        expressionAttributeNames: [String: String]? = nil, expressionAttributeValues: Item? = nil
    ) {
        self.tableName = tableName
        self.key = key
        self.updateExpression = updateExpression
        self.conditionExpression = conditionExpression
        self.expressionAttributeNames = expressionAttributeNames
        self.expressionAttributeValues = expressionAttributeValues
    }

    enum CodingKeys: String, CodingKey {
        case tableName = "TableName", key = "Key", updateExpression = "UpdateExpression", conditionExpression = "ConditionExpression"
        case expressionAttributeNames = "ExpressionAttributeNames", expressionAttributeValues = "ExpressionAttributeValues"
    }
}

/// A transaction's `ConditionCheck`: a condition on an item that the transaction does not write.
public struct TransactConditionCheck: Sendable, Codable, Hashable {
    public var tableName: String
    public var key: Item
    public var conditionExpression: String
    public var expressionAttributeNames: [String: String]?
    public var expressionAttributeValues: Item?

    public init(
        tableName: String, key: Item, conditionExpression: String, expressionAttributeNames: [String: String]? = nil,
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

/// What `TransactWriteItems` answers when it commits: nothing this client reads.
public struct TransactWriteItemsOutput: Sendable, Codable {}

/// `TransactGetItems`: up to 100 items read as one serializable snapshot (strongly
/// consistent), or not at all when a write to one of them is in progress
/// (`TransactionCanceledException` with `TransactionConflict`, which is retryable).
public struct TransactGetItemsInput: Sendable, Codable {
    public var transactItems: [TransactGetItem]

    public init(transactItems: [TransactGetItem]) { self.transactItems = transactItems }

    /// Reads these keys of one table.
    public init(tableName: String, keys: [Item]) {
        self.init(transactItems: keys.map { TransactGetItem(get: .init(tableName: tableName, key: $0)) })
    }

    enum CodingKeys: String, CodingKey { case transactItems = "TransactItems" }
}

/// One read of a `TransactGetItems`.
public struct TransactGetItem: Sendable, Codable, Hashable {
    public var get: TransactGet

    public init(get: TransactGet) { self.get = get }

    enum CodingKeys: String, CodingKey { case get = "Get" }
}

/// A transaction's `Get`: one item by its key.
public struct TransactGet: Sendable, Codable, Hashable {
    public var tableName: String
    public var key: Item

    public init(tableName: String, key: Item) {
        self.tableName = tableName
        self.key = key
    }

    enum CodingKeys: String, CodingKey { case tableName = "TableName", key = "Key" }
}

/// What `TransactGetItems` answers: one response per read, in the order asked.
public struct TransactGetItemsOutput: Sendable, Codable {
    public var responses: [ItemResponse]

    public init(responses: [ItemResponse]) { self.responses = responses }

    /// Each read's item, in the order asked; `nil` where there is no item with that key.
    public var items: [Item?] { responses.map(\.item) }

    enum CodingKeys: String, CodingKey { case responses = "Responses" }
}

/// One read's answer in `TransactGetItems`: the item, or `nil` (an empty object) when there is none.
public struct ItemResponse: Sendable, Codable, Hashable {
    public var item: Item?

    public init(item: Item?) { self.item = item }

    enum CodingKeys: String, CodingKey { case item = "Item" }
}

/// Why DynamoDB cancelled one write or read of a transaction (`CancellationReasons`, one per
/// item, in the order asked; `None` for the items that were not at fault).
public struct CancellationReason: Sendable, Hashable {
    /// `ConditionalCheckFailed`, `TransactionConflict`, `None`, …; see ``Code``.
    public var code: String
    public var message: String?

    public init(code: String, message: String? = nil) {
        self.code = code
        self.message = message
    }

    /// The reason codes this client treats specially.
    public enum Code {
        /// The item was not at fault.
        public static let none = "None"
        /// The item's condition was false: the item changed since it was read.
        public static let conditionalCheckFailed = "ConditionalCheckFailed"
        /// Another transaction or write was in progress on the item; retrying may succeed.
        public static let transactionConflict = "TransactionConflict"
        /// The item's partition was throttled; retrying later may succeed.
        public static let provisionedThroughputExceeded = "ProvisionedThroughputExceeded"
        /// The table was throttled; retrying later may succeed.
        public static let throttlingError = "ThrottlingError"
    }
}
