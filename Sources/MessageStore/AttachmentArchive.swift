import JSON

/// An attachment's file as the archiver fetched and stored it (issue 14): what a download
/// serves once the source URL has expired.
///
/// It belongs to one URL: a later delivery that gives the attachment another URL leaves the
/// file behind (the attachment is archived again from its new URL), while one that keeps the
/// URL keeps the file (see ``StoredMessage/keepingArchives(of:)``).
public struct ArchivedFile: Sendable, Hashable {
    /// The URL the file was fetched from: the attachment's `url` at the time.
    public var url: String
    /// Its size in bytes.
    public var size: Int64
    /// The SHA-256 of its bytes, 64 lowercase hex digits; also its blob's name.
    public var sha256: String
    /// Its media type, as the source served it.
    public var contentType: String
    /// When it was archived, server time, Unix milliseconds.
    public var archivedAt: Int64

    /// Describes an archived file.
    public init(url: String, size: Int64, sha256: String, contentType: String, archivedAt: Int64) {
        self.url = url
        self.size = size
        self.sha256 = sha256
        self.contentType = contentType
        self.archivedAt = archivedAt
    }

    /// Field names of a record, as both stores keep them (the SQLite column's JSON, the
    /// DynamoDB map).
    public enum Field: String, CaseIterable, Sendable {
        case url
        case size
        case sha256
        case contentType
        case archivedAt
    }
}

extension StoredMessage {
    /// The attachments' archived files by attachment id: what a store keeps in its
    /// `attachmentArchive` attribute. Empty when nothing is archived.
    public var archiveRecords: [String: ArchivedFile] {
        var records: [String: ArchivedFile] = [:]
        for attachment in attachments ?? [] {
            if let archive = attachment.archive { records[attachment.id] = archive }
        }
        return records
    }

    /// The message with each attachment's archived file from `records` (by attachment id),
    /// when it was fetched from the attachment's current URL; records of another URL are
    /// ignored.
    public func applyingArchiveRecords(_ records: [String: ArchivedFile]) -> StoredMessage {
        guard !records.isEmpty, var attachments else { return self }
        for index in attachments.indices {
            if let record = records[attachments[index].id], record.url.hasSameUTF8(as: attachments[index].url) {
                attachments[index].archive = record
            }
        }
        var message = self
        message.attachments = attachments
        return message
    }

    /// A newer delivery to write over `stored`, keeping the files archived for the
    /// attachments it still has at the same URL. Every store calls this where it decides an
    /// `updated` delivery, in the same atomic step.
    public func keepingArchives(of stored: StoredMessage) -> StoredMessage {
        applyingArchiveRecords(stored.archiveRecords)
    }

    /// The message without any archived file: what Qualia sent.
    public var withoutArchives: StoredMessage {
        guard var attachments, attachments.contains(where: { $0.archive != nil }) else { return self }
        for index in attachments.indices { attachments[index].archive = nil }
        var message = self
        message.attachments = attachments
        return message
    }
}

extension ArchivedFile {
    /// Writes records as a JSON object of attachment id to record: the SQLite store's
    /// `attachmentArchive` column.
    public static func write(_ records: [String: ArchivedFile], to writer: inout JSONWriter) {
        writer.object { object in
            for (id, record) in records.sorted(by: { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }) {
                object.key(id)
                object.object { fields in
                    fields.field(Field.url.rawValue, record.url)
                    fields.field(Field.size.rawValue, record.size)
                    fields.field(Field.sha256.rawValue, record.sha256)
                    fields.field(Field.contentType.rawValue, record.contentType)
                    fields.field(Field.archivedAt.rawValue, record.archivedAt)
                }
            }
        }
    }

    /// Reads what ``write(_:to:)`` wrote.
    /// - Throws: ``MessageStoreError`` when it is not such an object.
    public static func records(fromJSON json: String) throws -> [String: ArchivedFile] {
        guard case .object(let entries) = try JSONValue.parse(json.utf8) else {
            throw MessageStoreError.failed("stored attachmentArchive is not a JSON object")
        }
        var records: [String: ArchivedFile] = [:]
        for (id, value) in entries {
            guard case .object(let fields) = value, let url = fields[Field.url.rawValue]?.stringValue,
                let size = wholeNumber(fields[Field.size.rawValue]), let sha256 = fields[Field.sha256.rawValue]?.stringValue,
                let contentType = fields[Field.contentType.rawValue]?.stringValue,
                let archivedAt = wholeNumber(fields[Field.archivedAt.rawValue])
            else { throw MessageStoreError.failed("a stored attachmentArchive record lacks a field") }
            records[id] = ArchivedFile(url: url, size: size, sha256: sha256, contentType: contentType, archivedAt: archivedAt)
        }
        return records
    }

    private static func wholeNumber(_ value: JSONValue?) -> Int64? {
        guard case .number(let number) = value else { return nil }
        return Int64(exactly: number)
    }
}
