/// Which attributes a secondary index copies from the table (`ProjectionType`).
public struct ProjectionType: DynamoDBName {
    public var rawValue: String

    /// Creates the value with this name.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Every attribute (`ALL`).
    public static let all: ProjectionType = "ALL"
    /// Only the table's and the index's keys (`KEYS_ONLY`).
    public static let keysOnly: ProjectionType = "KEYS_ONLY"
    /// The keys and the named attributes (`INCLUDE`).
    public static let include: ProjectionType = "INCLUDE"
}
