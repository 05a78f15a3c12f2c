/// The type of a key attribute (`ScalarAttributeType`): keys are strings, numbers or binary.
public struct ScalarAttributeType: DynamoDBName {
    public var rawValue: String

    /// Creates the value with this name.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A string (`S`).
    public static let string: ScalarAttributeType = "S"
    /// A number (`N`).
    public static let number: ScalarAttributeType = "N"
    /// Binary data (`B`).
    public static let binary: ScalarAttributeType = "B"
}
