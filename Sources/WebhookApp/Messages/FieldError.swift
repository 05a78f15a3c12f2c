/// One invalid field of a request, as reported to the client.
public struct FieldError: Sendable, Hashable, Codable {
    /// The field's path in the request, such as `order_id` or `attachments[0].url`.
    public var field: String
    /// What is wrong with it, in words a person can act on.
    public var message: String

    /// Creates a field error.
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}
