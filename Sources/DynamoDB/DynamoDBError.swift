import JSON

/// A failed DynamoDB call: the service's own error, or why it could not be reached.
public struct DynamoDBError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where the failure came from.
    public enum Kind: Sendable, Hashable {
        /// DynamoDB answered with an error (`__type` and `message`).
        case service
        /// No answer: connection refused or reset, or a timeout.
        case connection
        /// No credentials could be found to sign with.
        case credentials
        /// DynamoDB answered 200 with a body that could not be read.
        case invalidResponse
        /// The client was shut down.
        case clientShutDown
    }

    /// Where the failure came from.
    public var kind: Kind
    /// The error's short name: the part of `__type` after `#` for service errors
    /// (`ConditionalCheckFailedException`); otherwise a name of ours.
    public var code: String
    /// DynamoDB's message, or a description of the transport failure.
    public var message: String
    /// The HTTP status, when DynamoDB answered.
    public var statusCode: Int?

    /// Creates an error.
    public init(kind: Kind, code: String, message: String, statusCode: Int? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.statusCode = statusCode
    }

    /// Error codes DynamoDB sends that this client treats specially.
    public enum Code {
        public static let conditionalCheckFailed = "ConditionalCheckFailedException"
        public static let resourceNotFound = "ResourceNotFoundException"
        public static let resourceInUse = "ResourceInUseException"
        public static let validation = "ValidationException"
        public static let provisionedThroughputExceeded = "ProvisionedThroughputExceededException"
        public static let throttling = "ThrottlingException"
        public static let requestLimitExceeded = "RequestLimitExceeded"
        public static let internalServerError = "InternalServerError"
        public static let serviceUnavailable = "ServiceUnavailable"
    }

    /// The code of ``deadlineExceeded(_:after:)``.
    public static let deadlineExceededCode = "DeadlineExceeded"

    /// The call's ``Deadline`` passed before it got an answer: a ``Kind/connection`` failure, so
    /// it is retryable (later, by the caller's caller) and never taken for an answer.
    /// - Parameters:
    ///   - operation: The DynamoDB operation, such as `PutItem`.
    ///   - cause: The failure of the last attempt, when there was one; the log says why.
    public static func deadlineExceeded(_ operation: String, after cause: (any Error)? = nil) -> DynamoDBError {
        DynamoDBError(
            kind: .connection, code: deadlineExceededCode,
            message: "\(operation) got no answer before its deadline" + (cause.map { " (last attempt: \($0))" } ?? "")
        )
    }

    /// Whether the call ran out of time: see ``deadlineExceeded(_:after:)``.
    public var isDeadlineExceeded: Bool { code == Self.deadlineExceededCode }

    /// Whether the request was refused for going too fast.
    public var isThrottling: Bool {
        [Code.provisionedThroughputExceeded, Code.throttling, Code.requestLimitExceeded].contains(code)
    }

    /// Whether sending the same request again may succeed: throttling, 5xx answers and
    /// connection failures. Never validation or conditional-check failures.
    public var isRetryable: Bool {
        switch kind {
        case .connection: return true
        case .credentials, .invalidResponse, .clientShutDown: return false
        case .service: return isThrottling || (statusCode ?? 0) >= 500
        }
    }

    /// Whether DynamoDB refused a conditional write because its condition was false.
    public var isConditionalCheckFailure: Bool { code == Code.conditionalCheckFailed }

    public var description: String {
        "DynamoDB \(code)\(statusCode.map { " (HTTP \($0))" } ?? ""): \(message)"
    }

    /// Reads DynamoDB's JSON error body: `{"__type": "…#Code", "message": "…"}` (some errors
    /// spell it `Message`). A body that is not such an object gives `HTTP{status}`.
    static func fromResponse(status: Int, body: [UInt8]) -> DynamoDBError {
        var members: [String: JSONValue] = [:]
        if case .object(let object)? = try? JSONValue.parse(body) { members = object }
        let type = members["__type"]?.stringValue
        let code = type.map { $0.split(separator: "#").last.map(String.init) ?? $0 } ?? "HTTP\(status)"
        let message = members["message"]?.stringValue ?? members["Message"]?.stringValue ?? ""
        return DynamoDBError(kind: .service, code: code, message: message, statusCode: status)
    }
}
