/// A table's state (`TableStatus`). AWS has added states over the years (`ARCHIVING`,
/// `INACCESSIBLE_ENCRYPTION_CREDENTIALS`, …), so any other name is kept as it came.
public struct TableStatus: DynamoDBName {
    public var rawValue: String

    /// Creates the value with this name.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Being created (`CREATING`); not usable yet.
    public static let creating: TableStatus = "CREATING"
    /// Ready (`ACTIVE`).
    public static let active: TableStatus = "ACTIVE"
    /// Being changed (`UPDATING`); reads and writes still work.
    public static let updating: TableStatus = "UPDATING"
    /// Being deleted (`DELETING`).
    public static let deleting: TableStatus = "DELETING"
}
