/// Which of an item's attributes a write answers with (`ReturnValues`).
public struct ReturnValues: DynamoDBName {
    public var rawValue: String

    /// Creates the value with this name.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Nothing (`NONE`), the default. Not named `none`, which would read as `nil` wherever
    /// an optional `ReturnValues` is expected.
    public static let nothing: ReturnValues = "NONE"
    /// The whole item as it was before the write, if there was one (`ALL_OLD`).
    public static let allOld: ReturnValues = "ALL_OLD"
    /// The updated attributes as they were before (`UPDATED_OLD`; `UpdateItem` only).
    public static let updatedOld: ReturnValues = "UPDATED_OLD"
    /// The whole item after the write (`ALL_NEW`; `UpdateItem` only).
    public static let allNew: ReturnValues = "ALL_NEW"
    /// The updated attributes after the write (`UPDATED_NEW`; `UpdateItem` only).
    public static let updatedNew: ReturnValues = "UPDATED_NEW"
}
