/// The role of a key attribute in a table's key schema (`KeyType`).
public struct KeyType: DynamoDBName {
    public var rawValue: String

    /// Creates the value with this name.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The partition key (`HASH`).
    public static let hash: KeyType = "HASH"
    /// The sort key (`RANGE`).
    public static let range: KeyType = "RANGE"
}
