/// How a table's reads and writes are paid for (`BillingMode`).
public struct BillingMode: DynamoDBName {
    public var rawValue: String

    /// Creates the value with this name.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// On demand, per request (`PAY_PER_REQUEST`).
    public static let payPerRequest: BillingMode = "PAY_PER_REQUEST"
    /// Provisioned capacity (`PROVISIONED`).
    public static let provisioned: BillingMode = "PROVISIONED"
}
