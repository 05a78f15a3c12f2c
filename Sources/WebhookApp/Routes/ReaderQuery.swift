import Foundation
import Hummingbird
import MessageStore

/// The parts of a reader's request that several routes share, read and checked in one
/// place: path identifiers, `limit`, `cursor` and flags. Each collects every problem, so an
/// answer names them all at once (`400 validation_failed`).
struct ReaderQuery {
    /// The most items a page may ask for.
    static let largestLimit = 1000

    private let request: Request
    private let context: WebhookRequestContext
    /// Every problem found so far.
    private(set) var problems: [FieldError] = []

    init(_ request: Request, context: WebhookRequestContext) {
        self.request = request
        self.context = context
    }

    /// A path parameter, percent-decoded.
    private func pathParameter(_ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        return raw.removingPercentEncoding ?? raw
    }

    /// The `{order_id}` path parameter, checked by the payload's rules.
    mutating func orderID() throws -> String {
        let orderID = try pathParameter("order_id")
        if let problem = WebhookPayload.validateOrderID(orderID) { problems.append(problem) }
        return orderID
    }

    /// The message's key from `{order_id}/{message_type}/{message_id}`.
    mutating func messageKey() throws -> MessageKey? {
        let orderID = try orderID()
        let rawType = try pathParameter("message_type")
        let type = MessageType(rawValue: rawType)
        if type == nil { problems.append(FieldError(field: "message_type", message: WebhookPayload.messageTypeRule)) }
        let messageID = try pathParameter("message_id")
        if let problem = WebhookPayload.validateIdentifier(messageID, field: "message_id") { problems.append(problem) }
        return type.map { MessageKey(orderID: orderID, messageType: $0, messageID: messageID) }
    }

    /// A query parameter's value, when given.
    func value(_ name: String) -> String? {
        request.uri.queryParameters[Substring(name)].map(String.init)
    }

    /// `limit`, a whole number from 1 to `largest`, or `defaultLimit` when absent.
    mutating func limit(default defaultLimit: Int?, largest: Int = largestLimit) -> Int? {
        guard let text = value("limit") else { return defaultLimit }
        guard let limit = Self.parseLimit(text, largest: largest) else {
            problems.append(Self.limitProblem(largest: largest))
            return defaultLimit
        }
        return limit
    }

    /// A `limit` parameter's value when it is a whole number from 1 to `largest`.
    static func parseLimit(_ text: some StringProtocol, largest: Int = largestLimit) -> Int? {
        Int(text).flatMap { (1...largest).contains($0) ? $0 : nil }
    }

    /// What a `limit` that ``parseLimit(_:largest:)`` refuses is answered.
    static func limitProblem(largest: Int = largestLimit) -> FieldError {
        FieldError(field: "limit", message: "must be a whole number from 1 to \(largest)")
    }

    /// The `message_type` query parameter, when given.
    mutating func messageType() -> MessageType? {
        guard let text = value("message_type") else { return nil }
        guard let type = MessageType(rawValue: text) else {
            problems.append(FieldError(field: "message_type", message: WebhookPayload.messageTypeRule))
            return nil
        }
        return type
    }

    /// A `true`/`false` flag, `false` when absent.
    mutating func flag(_ name: String) -> Bool {
        guard let text = value(name) else { return false }
        switch text {
        case "true": return true
        case "false": return false
        default:
            problems.append(FieldError(field: name, message: "must be true or false"))
            return false
        }
    }

    /// An optional identifier in the query (such as `thread_id`), checked by the payload's rules.
    mutating func identifier(_ name: String) -> String? {
        guard let text = value(name) else { return nil }
        if let problem = WebhookPayload.validateIdentifier(text, field: name) { problems.append(problem) }
        return text
    }

    /// Records a problem that a route found by its own rules.
    mutating func add(_ problem: FieldError) {
        problems.append(problem)
    }

    /// Throws `400 validation_failed` naming every problem found, if any.
    func requireValid() throws {
        guard problems.isEmpty else { throw WebhookError.validationFailed(problems) }
    }
}
