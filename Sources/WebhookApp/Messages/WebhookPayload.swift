import Foundation
import JSON
import MessageStore

/// The message webhook's rules: what Qualia's JSON must hold to be stored, checked field by
/// field, every problem reported at once.
///
/// Validation yields the stored shape itself, so nothing copies a validated payload into a
/// second structure. Fields Qualia may add in future are ignored, so a new field never breaks
/// delivery.
enum WebhookPayload {}

extension WebhookPayload {
    /// Validates a decoded JSON body into the message to store.
    /// - Parameter storedAt: When it is being stored, as Unix milliseconds (`storedAt`).
    /// - Throws: ``ValidationFailure`` with every field error found.
    static func validate(_ json: JSONValue, storedAt: Int64) throws(ValidationFailure) -> StoredMessage {
        guard case .object(let object) = json else {
            throw ValidationFailure(fields: [FieldError(field: "body", message: "must be a JSON object")])
        }
        var fields = FieldReader(object: object)

        let orderID = fields.orderID("order_id")
        let messageID = fields.requiredString("message_id", allowEmpty: false, maxBytes: Limits.identifierBytes, isIdentifier: true)
        let orderNumber = fields.optionalString("order_number", maxBytes: Limits.identifierBytes, isIdentifier: true)
        let fromName = fields.requiredString("from_name", allowEmpty: false, maxBytes: Limits.fromNameBytes)
        let text = fields.requiredString("text", allowEmpty: true, maxBytes: Limits.textBytes)
        let createdDate = fields.dateTime("created_date")
        let read = fields.optionalBool("read") ?? false
        let attachments = fields.attachments("attachments")
        let messageType = fields.messageType("message_type")
        let timestamp = fields.dateTime("timestamp")
        let threadID = fields.optionalString("thread_id", allowEmpty: false, maxBytes: Limits.identifierBytes, isIdentifier: true)
        let inReplyTo = fields.optionalString("in_reply_to", allowEmpty: false, maxBytes: Limits.identifierBytes, isIdentifier: true)

        guard fields.errors.isEmpty,
            let orderID, let messageID, let fromName, let text, let createdDate, let messageType, let timestamp
        else {
            throw ValidationFailure(fields: fields.errors)
        }
        return StoredMessage(
            orderID: orderID,
            messageID: messageID,
            messageType: messageType,
            fromName: fromName,
            text: text,
            createdDate: createdDate.text,
            read: read,
            timestamp: timestamp.milliseconds,
            storedAt: ISO8601.string(fromUnixMilliseconds: storedAt),
            orderNumber: orderNumber,
            attachments: attachments,
            threadID: threadID,
            inReplyTo: inReplyTo
        )
    }

    /// What a `message_type` must be, in the words of a validation error.
    static let messageTypeRule = "must be \"message.received\" or \"message.sent\""

    /// Checks an order identifier on its own, as the `GET` route's path carries one.
    static func validateOrderID(_ orderID: String) -> FieldError? {
        var fields = FieldReader(object: ["order_id": .string(orderID)])
        _ = fields.orderID("order_id")
        return fields.errors.first
    }

    /// Checks an identifier that a path or query carries (`message_id`, `thread_id`) by the
    /// payload's rules for it.
    static func validateIdentifier(_ value: String, field: String) -> FieldError? {
        var fields = FieldReader(object: [field: .string(value)])
        _ = fields.requiredString(field, allowEmpty: false, maxBytes: Limits.identifierBytes, isIdentifier: true)
        return fields.errors.first
    }
}

/// Bounds on a message's fields. Together they keep the largest valid message well under
/// DynamoDB's 400 KB item limit (about 383 KB with every field at its bound), whatever the
/// store and whatever `MAX_BODY_BYTES` allows.
public enum Limits {
    /// `order_id`, `message_id`, `order_number`, `thread_id`, `in_reply_to`, attachment `_id` and `tag`.
    public static let identifierBytes = 256
    /// `from_name`.
    public static let fromNameBytes = 1024
    /// `text`.
    public static let textBytes = 200_000
    /// `created_date` and `timestamp`.
    public static let dateTimeBytes = 64
    /// How many attachments one message may carry.
    public static let attachmentCount = 50
    /// An attachment's `name`.
    public static let attachmentNameBytes = 1024
    /// An attachment's `url`.
    public static let urlBytes = 2048
}

/// The field errors of a request that failed validation; answered `400 validation_failed`
/// (see ``ErrorMiddleware``).
struct ValidationFailure: Error, Hashable {
    var fields: [FieldError]
}

/// Reads typed fields out of a JSON object, collecting an error for each bad one.
/// `null` counts as absent, both for required fields (an error) and optional ones (`nil`).
private struct FieldReader {
    let object: [String: JSONValue]
    let prefix: String
    var errors: [FieldError] = []

    init(object: [String: JSONValue], prefix: String = "") {
        self.object = object
        self.prefix = prefix
    }

    private mutating func fail(_ key: String, _ message: String) {
        errors.append(FieldError(field: prefix + key, message: message))
    }

    private mutating func value(_ key: String, required: Bool) -> JSONValue? {
        switch object[key] {
        case nil, .null?:
            if required { fail(key, "is required") }
            return nil
        case let value?:
            return value
        }
    }

    mutating func requiredString(_ key: String, allowEmpty: Bool, maxBytes: Int, isIdentifier: Bool = false) -> String? {
        guard let value = value(key, required: true) else { return nil }
        return checkedString(key, value, allowEmpty: allowEmpty, maxBytes: maxBytes, isIdentifier: isIdentifier)
    }

    mutating func optionalString(_ key: String, allowEmpty: Bool = true, maxBytes: Int, isIdentifier: Bool = false) -> String? {
        guard let value = value(key, required: false) else { return nil }
        return checkedString(key, value, allowEmpty: allowEmpty, maxBytes: maxBytes, isIdentifier: isIdentifier)
    }

    /// A string within its length bound; identifiers also refuse control characters, which
    /// would corrupt keys, logs and the tools that read them.
    private mutating func checkedString(_ key: String, _ value: JSONValue, allowEmpty: Bool, maxBytes: Int, isIdentifier: Bool) -> String? {
        guard case .string(let string) = value else {
            fail(key, "must be a string, not \(value.typeName)")
            return nil
        }
        if !allowEmpty && string.isEmpty {
            fail(key, "must not be empty")
            return nil
        }
        if string.utf8.count > maxBytes {
            fail(key, "must be at most \(maxBytes) bytes of UTF-8, not \(string.utf8.count)")
            return nil
        }
        // Unicode's control characters (category Cc) are exactly U+0000–U+001F and U+007F–U+009F.
        if isIdentifier && string.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            fail(key, "must not contain control characters")
            return nil
        }
        return string
    }

    mutating func optionalBool(_ key: String) -> Bool? {
        guard let value = value(key, required: false) else { return nil }
        guard case .bool(let bool) = value else {
            fail(key, "must be true or false, not \(value.typeName)")
            return nil
        }
        return bool
    }

    mutating func orderID(_ key: String) -> String? {
        guard let orderID = requiredString(key, allowEmpty: false, maxBytes: Limits.identifierBytes, isIdentifier: true) else { return nil }
        guard orderID.hasUTF8Prefix("QO-"), orderID.utf8.count > 3 else {
            fail(key, "must start with \"QO-\" followed by the order's identifier")
            return nil
        }
        return orderID
    }

    mutating func messageType(_ key: String) -> MessageType? {
        guard let name = requiredString(key, allowEmpty: true, maxBytes: Limits.identifierBytes) else { return nil }
        guard let type = MessageType(rawValue: name) else {
            fail(key, WebhookPayload.messageTypeRule)
            return nil
        }
        return type
    }

    mutating func dateTime(_ key: String) -> (text: String, milliseconds: Int64)? {
        guard let text = requiredString(key, allowEmpty: true, maxBytes: Limits.dateTimeBytes) else { return nil }
        guard let milliseconds = ISO8601.unixMilliseconds(from: text) else {
            fail(key, "must be an ISO 8601 date-time with a time zone, such as 2025-10-28T10:30:00Z")
            return nil
        }
        return (text, milliseconds)
    }

    mutating func webURL(_ key: String) -> String? {
        guard let url = requiredString(key, allowEmpty: false, maxBytes: Limits.urlBytes) else { return nil }
        if let problem = WebURL.problem(in: url) {
            fail(key, "must be an http or https URL: \(problem)")
            return nil
        }
        return url
    }

    mutating func attachments(_ key: String) -> [Attachment]? {
        guard let value = value(key, required: false) else { return nil }
        guard case .array(let elements) = value else {
            fail(key, "must be a list of attachments, not \(value.typeName)")
            return nil
        }
        guard elements.count <= Limits.attachmentCount else {
            fail(key, "must hold at most \(Limits.attachmentCount) attachments, not \(elements.count)")
            return nil
        }
        var attachments: [Attachment] = []
        for (index, element) in elements.enumerated() {
            let elementPath = "\(prefix)\(key)[\(index)]"
            guard case .object(let object) = element else {
                errors.append(FieldError(field: elementPath, message: "must be an object, not \(element.typeName)"))
                continue
            }
            var reader = FieldReader(object: object, prefix: elementPath + ".")
            let id = reader.requiredString("_id", allowEmpty: false, maxBytes: Limits.identifierBytes, isIdentifier: true)
            let name = reader.requiredString("name", allowEmpty: true, maxBytes: Limits.attachmentNameBytes)
            let url = reader.webURL("url")
            let tag = reader.optionalString("tag", maxBytes: Limits.identifierBytes, isIdentifier: true)
            errors += reader.errors
            if let id, let name, let url {
                attachments.append(Attachment(id: id, name: name, url: url, tag: tag))
            }
        }
        return attachments
    }
}
