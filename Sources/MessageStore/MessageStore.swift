/// Where messages are kept: the seam between the HTTP layer and a storage technology.
///
/// It speaks the domain, not SQL or DynamoDB. Every conforming store must:
/// - return from ``store(_:)`` only once the message is durably stored, and throw otherwise;
/// - key messages by order (`PK`) and by type and id (`SK`), so storing the same key again
///   replaces the earlier item rather than adding a second one;
/// - return an order's messages in ascending sort-key order (`SK`, compared byte by byte).
public protocol MessageStore: Sendable {
    /// Stores a message durably, replacing any message with the same order, type and id.
    /// - Throws: ``MessageStoreError`` when the message could not be stored.
    func store(_ message: StoredMessage) async throws

    /// Every stored message of an order, optionally only those of one type, in `SK` order.
    /// - Parameters:
    ///   - orderID: Qualia's order identifier.
    ///   - type: The message type to keep, or `nil` for both.
    /// - Throws: ``MessageStoreError`` when the store could not be read.
    func messages(forOrder orderID: String, type: MessageType?) async throws -> [StoredMessage]

    /// Checks that the store answers, for readiness probes.
    /// - Throws: ``MessageStoreError`` when it does not.
    func checkReadiness() async throws

    /// Releases the store's resources. The store is not used afterwards.
    func shutdown() async throws
}

/// Why a store operation failed. The reason is for logs only: it never reaches a client.
public struct MessageStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Broad classes of store failure, which decide the HTTP answer.
    public enum Kind: Sendable, Hashable {
        /// The store cannot be reached or is overloaded right now; retrying later may succeed.
        case unavailable
        /// The store answered with an error that retrying will not fix by itself.
        case failed
    }

    /// The class of failure.
    public var kind: Kind
    /// What went wrong, for operators' logs.
    public var reason: String

    /// Creates a store error.
    public init(_ kind: Kind, reason: String) {
        self.kind = kind
        self.reason = reason
    }

    /// The store cannot be reached or is overloaded right now.
    public static func unavailable(_ reason: String) -> Self { .init(.unavailable, reason: reason) }
    /// The store answered with an error that retrying will not fix by itself.
    public static func failed(_ reason: String) -> Self { .init(.failed, reason: reason) }

    public var description: String { "\(kind): \(reason)" }
}
