/// Time to live: DynamoDB deletes an item some time after the Unix time (seconds) in the
/// table's TTL attribute has passed (`UpdateTimeToLive`, `DescribeTimeToLive`), with
/// DynamoDB's own member names on the wire.

/// Which attribute holds the items' expiry, and whether expiry is on.
public struct TimeToLiveSpecification: Sendable, Codable, Hashable {
    /// The attribute holding each item's expiry, Unix seconds as a number.
    public var attributeName: String
    /// Whether DynamoDB deletes expired items.
    public var enabled: Bool

    public init(attributeName: String, enabled: Bool) {
        self.attributeName = attributeName
        self.enabled = enabled
    }

    enum CodingKeys: String, CodingKey { case attributeName = "AttributeName", enabled = "Enabled" }
}

/// `UpdateTimeToLive`: turns expiry on (or off) for one attribute of a table. DynamoDB
/// refuses it (`ValidationException`) when expiry is already on, or changed within the hour.
public struct UpdateTimeToLiveInput: Sendable, Codable {
    public var tableName: String
    public var timeToLiveSpecification: TimeToLiveSpecification

    public init(tableName: String, timeToLiveSpecification: TimeToLiveSpecification) {
        self.tableName = tableName
        self.timeToLiveSpecification = timeToLiveSpecification
    }

    enum CodingKeys: String, CodingKey { case tableName = "TableName", timeToLiveSpecification = "TimeToLiveSpecification" }
}

/// What `UpdateTimeToLive` answers: the specification as applied.
public struct UpdateTimeToLiveOutput: Sendable, Codable {
    public var timeToLiveSpecification: TimeToLiveSpecification?

    enum CodingKeys: String, CodingKey { case timeToLiveSpecification = "TimeToLiveSpecification" }
}

/// A table's expiry as `DescribeTimeToLive` reports it.
public struct TimeToLiveDescription: Sendable, Codable, Hashable {
    /// `ENABLED`, `ENABLING`, `DISABLED` or `DISABLING`.
    public var timeToLiveStatus: String?
    /// The expiry attribute, when expiry is on or being turned on.
    public var attributeName: String?

    public init(timeToLiveStatus: String?, attributeName: String?) {
        self.timeToLiveStatus = timeToLiveStatus
        self.attributeName = attributeName
    }

    /// Whether DynamoDB expires items by `attribute` (or is turning that on).
    public func expires(by attribute: String) -> Bool {
        (timeToLiveStatus == "ENABLED" || timeToLiveStatus == "ENABLING") && attributeName == attribute
    }

    enum CodingKeys: String, CodingKey { case timeToLiveStatus = "TimeToLiveStatus", attributeName = "AttributeName" }
}

/// What `DescribeTimeToLive` answers.
public struct DescribeTimeToLiveOutput: Sendable, Codable {
    public var timeToLiveDescription: TimeToLiveDescription

    enum CodingKeys: String, CodingKey { case timeToLiveDescription = "TimeToLiveDescription" }
}
