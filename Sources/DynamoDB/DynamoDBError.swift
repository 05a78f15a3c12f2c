import Foundation
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
        /// DynamoDB answered 200 with a body that could not be read, or an answer whose body
        /// does not match its `x-amz-crc32` checksum (``DynamoDBError/checksumMismatchCode``).
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
    /// Why each item of a cancelled transaction (``Code/transactionCanceled``) was at fault or
    /// not, in the order asked; `nil` for every other error.
    public var cancellationReasons: [CancellationReason]?
    /// The time in the answer's `Date` header, when DynamoDB answered with one: the server's
    /// clock, which a clock-skew error is judged by.
    public var serverDate: Date?

    /// Creates an error.
    public init(
        kind: Kind, code: String, message: String, statusCode: Int? = nil, cancellationReasons: [CancellationReason]? = nil,
        serverDate: Date? = nil
    ) {
        self.kind = kind
        self.code = code
        self.message = message
        self.statusCode = statusCode
        self.cancellationReasons = cancellationReasons
        self.serverDate = serverDate
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
        /// A transaction wrote or read nothing; its ``DynamoDBError/cancellationReasons`` say why.
        public static let transactionCanceled = "TransactionCanceledException"
        /// A write conflicted with a transaction in progress on the same item.
        public static let transactionConflict = "TransactionConflictException"
        /// The request's session token has expired (DynamoDB's spelling).
        public static let expiredTokenException = "ExpiredTokenException"
        /// The request's session token has expired (other services' spelling).
        public static let expiredToken = "ExpiredToken"
        /// The request's time is too far from the server's, or (EC2) its credentials expired.
        public static let requestExpired = "RequestExpired"
        /// The request's time is too far from the server's.
        public static let requestTimeTooSkewed = "RequestTimeTooSkewed"
        /// The request's time is later than the server's by too much.
        public static let requestInTheFuture = "RequestInTheFuture"
        /// DynamoDB's answer to a bad signature, a signing time out of its window among them
        /// ("Signature expired", "Signature not yet current").
        public static let invalidSignature = "InvalidSignatureException"
        /// Other services' answer to a bad signature.
        public static let signatureDoesNotMatch = "SignatureDoesNotMatch"
        /// EC2's answer to a bad signature.
        public static let authFailure = "AuthFailure"
    }

    /// Codes that may mean the request was signed at a time too far from the server's: the AWS
    /// SDKs' list (the JavaScript v3 SDK's `CLOCK_SKEW_ERROR_CODES`, the Swift SDK's definite
    /// and probable codes). Only the answer's `Date` tells whether the clock is to blame (see
    /// ``SigningClock``): a wrong secret answers `InvalidSignatureException` too.
    public static let clockSkewCodes: Set<String> = [
        Code.requestTimeTooSkewed, Code.requestExpired, Code.requestInTheFuture, Code.invalidSignature, Code.signatureDoesNotMatch,
        Code.authFailure,
    ]

    /// Codes that mean the credentials must be fetched anew before the request can succeed:
    /// the AWS SDK for Go's `credsExpiredCodes`. botocore has no such list (its refreshable
    /// credentials refresh only by their expiry time).
    public static let expiredCredentialsCodes: Set<String> = [Code.expiredTokenException, Code.expiredToken, Code.requestExpired]

    /// The code of an answer whose body does not match its `x-amz-crc32` checksum.
    public static let checksumMismatchCode = "ChecksumMismatch"

    /// The answer's body does not match its `x-amz-crc32` checksum: it was damaged on the way,
    /// so sending the request again may succeed (botocore's `ChecksumError`, retried).
    /// - Parameters:
    ///   - operation: The DynamoDB operation, such as `PutItem`.
    ///   - statusCode: The answer's HTTP status.
    static func checksumMismatch(_ operation: String, statusCode: Int) -> DynamoDBError {
        DynamoDBError(
            kind: .invalidResponse, code: checksumMismatchCode,
            message: "\(operation)'s answer does not match its x-amz-crc32 checksum", statusCode: statusCode
        )
    }

    /// Whether the answer's body did not match its checksum: see ``checksumMismatch(_:statusCode:)``.
    public var isChecksumMismatch: Bool { code == Self.checksumMismatchCode }

    /// Whether the answer may mean a clock too far from the server's (see ``clockSkewCodes``).
    public var mayBeClockSkew: Bool { kind == .service && Self.clockSkewCodes.contains(code) }

    /// Whether the answer says the credentials expired (see ``expiredCredentialsCodes``).
    public var isExpiredCredentials: Bool { kind == .service && Self.expiredCredentialsCodes.contains(code) }

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

    /// Whether sending the same request again may succeed: throttling, 5xx answers,
    /// connection failures and answers damaged on the way (``isChecksumMismatch``). Never
    /// validation or conditional-check failures. (An expired token or a skewed clock is fixed
    /// once per call by changing the request, not by sending it again: see
    /// ``isExpiredCredentials`` and ``mayBeClockSkew``.)
    public var isRetryable: Bool {
        switch kind {
        case .connection: return true
        case .invalidResponse: return isChecksumMismatch
        case .credentials, .clientShutDown: return false
        case .service:
            return isThrottling || (statusCode ?? 0) >= 500 || code == Code.transactionConflict
                || (isTransactionCanceled && !isConditionalCheckFailure && cancelledOnlyForPassingReasons)
        }
    }

    /// Whether DynamoDB refused a conditional write because its condition was false: a
    /// `ConditionalCheckFailedException`, or a transaction cancelled because one of its
    /// conditions was false (the items changed since they were read: a lost race, which
    /// sending the same request again cannot win; read again instead).
    public var isConditionalCheckFailure: Bool {
        code == Code.conditionalCheckFailed
            || (isTransactionCanceled && (cancellationReasons ?? []).contains { $0.code == CancellationReason.Code.conditionalCheckFailed })
    }

    /// Whether this is a cancelled transaction (see ``cancellationReasons``).
    public var isTransactionCanceled: Bool { code == Code.transactionCanceled }

    /// Whether every item at fault in a cancelled transaction was so for a reason that may
    /// pass (a conflicting transaction in progress, throttling), so the same request may succeed.
    private var cancelledOnlyForPassingReasons: Bool {
        let passing = [
            CancellationReason.Code.transactionConflict, CancellationReason.Code.provisionedThroughputExceeded,
            CancellationReason.Code.throttlingError,
        ]
        let atFault = (cancellationReasons ?? []).filter { $0.code != CancellationReason.Code.none }
        return !atFault.isEmpty && atFault.allSatisfy { passing.contains($0.code) }
    }

    public var description: String {
        let reasons = cancellationReasons.map { " [\($0.map(\.code).joined(separator: ", "))]" } ?? ""
        return "DynamoDB \(code)\(statusCode.map { " (HTTP \($0))" } ?? ""): \(message)\(reasons)"
    }

    /// Reads DynamoDB's JSON error body: `{"__type": "…#Code", "message": "…"}` (some errors
    /// spell it `Message`). A body that is not such an object gives `HTTP{status}`.
    /// - Parameter serverDate: The answer's `Date`, when it had one.
    static func fromResponse(status: Int, body: [UInt8], serverDate: Date? = nil) -> DynamoDBError {
        var members: [String: JSONValue] = [:]
        if case .object(let object)? = try? JSONValue.parse(body) { members = object }
        let type = members["__type"]?.stringValue
        let code = type.map { $0.split(separator: "#").last.map(String.init) ?? $0 } ?? "HTTP\(status)"
        let message = members["message"]?.stringValue ?? members["Message"]?.stringValue ?? ""
        return DynamoDBError(
            kind: .service, code: code, message: message, statusCode: status, cancellationReasons: cancellationReasons(in: members["CancellationReasons"]),
            serverDate: serverDate
        )
    }

    /// A cancelled transaction's `CancellationReasons` (`[{"Code": "…", "Message": "…"}, …]`),
    /// or `nil` when the body has none.
    private static func cancellationReasons(in json: JSONValue?) -> [CancellationReason]? {
        guard case .array(let elements)? = json else { return nil }
        return elements.map { element in
            guard case .object(let reason) = element else { return CancellationReason(code: CancellationReason.Code.none) }
            return CancellationReason(
                code: reason["Code"]?.stringValue ?? CancellationReason.Code.none, message: reason["Message"]?.stringValue
            )
        }
    }
}
