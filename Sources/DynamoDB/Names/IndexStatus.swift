/// A secondary index's state (`IndexStatus`): a global secondary index added to an existing
/// table is `CREATING` while DynamoDB fills it, and can be queried once `ACTIVE`.
public struct IndexStatus: DynamoDBName {
    public var rawValue: String

    /// Creates the value with this name.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Being created and filled (`CREATING`); not usable yet.
    public static let creating: IndexStatus = "CREATING"
    /// Ready (`ACTIVE`).
    public static let active: IndexStatus = "ACTIVE"
    /// Being changed (`UPDATING`).
    public static let updating: IndexStatus = "UPDATING"
    /// Being deleted (`DELETING`).
    public static let deleting: IndexStatus = "DELETING"
}
