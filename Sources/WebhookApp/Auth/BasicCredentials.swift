/// A user name and password for HTTP Basic authentication.
///
/// Its description never shows the password, so it is safe in logs and error messages.
public struct BasicCredentials: Sendable, Hashable, CustomStringConvertible {
    /// The user name.
    public var username: String
    /// The password.
    public var password: String

    /// Creates credentials.
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public var description: String { "BasicCredentials(username: \(username), password: <redacted>)" }
}
