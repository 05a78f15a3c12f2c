import JSON

// The spec's JSON for stored items, written with the one spelling of their names
// (``StoredMessage/Attribute``, ``Attachment/Field``): what a GET answers, and what the SQLite
// store keeps in its `attachments` column.

extension Attachment {
    /// Writes attachments as a JSON array of `{_id, name, url, tag?}` objects, in that order;
    /// with `archiveState`, each also says whether it is `archived` and, when it is, its file's
    /// `size` and `sha256` (what an answer shows; a store keeps its records apart).
    public static func write(_ attachments: [Attachment], to writer: inout JSONWriter, archiveState: Bool = false) {
        writer.array(attachments) { list, attachment in
            list.object { object in
                object.field(Field.id.rawValue, attachment.id)
                object.field(Field.name.rawValue, attachment.name)
                object.field(Field.url.rawValue, attachment.url)
                if let tag = attachment.tag { object.field(Field.tag.rawValue, tag) }
                if archiveState {
                    object.field(ArchiveStateField.archived.rawValue, attachment.archive != nil)
                    if let archive = attachment.archive {
                        object.field(ArchiveStateField.size.rawValue, archive.size)
                        object.field(ArchiveStateField.sha256.rawValue, archive.sha256)
                    }
                }
            }
        }
    }

    /// The fields an answer adds to each attachment about its archived file.
    public enum ArchiveStateField: String, CaseIterable, Sendable {
        case archived
        case size
        case sha256
    }
}

extension StoredMessage {
    /// Writes the item with the spec's attribute names in the spec's order; `orderNumber`,
    /// `attachments` (with their archive state), `threadId`, `inReplyTo` and `readUpdatedAt`
    /// only when present.
    public func write(to writer: inout JSONWriter) {
        // Written without the closure of `object(_:)`: a page writes a hundred items, and the
        // closure's captures cost a retain and a release per field.
        writer.beginObject()
        writer.field(Keys.partitionKey, joining: Self.partitionKeyPrefix, orderID)
        writer.field(Keys.sortKey, joining: Self.sortKeyPrefix(for: messageType), messageID)
        writer.field(Keys.orderID, orderID)
        writer.field(Keys.messageID, messageID)
        writer.field(Keys.messageType, messageType.rawValue)
        writer.field(Keys.fromName, fromName)
        writer.field(Keys.text, text)
        writer.field(Keys.createdDate, createdDate)
        writer.field(Keys.read, read)
        writer.field(Keys.timestamp, timestamp)
        writer.field(Keys.storedAt, storedAt)
        if let orderNumber { writer.field(Keys.orderNumber, orderNumber) }
        if let attachments {
            writer.key(Keys.attachments)
            Attachment.write(attachments, to: &writer, archiveState: true)
        }
        if let threadID { writer.field(Keys.threadID, threadID) }
        if let inReplyTo { writer.field(Keys.inReplyTo, inReplyTo) }
        if let readUpdatedAt { writer.field(Keys.readUpdatedAt, readUpdatedAt) }
        writer.endObject()
    }

    /// About how many bytes ``write(to:)`` writes: room to reserve for a page of items.
    public var estimatedJSONBytes: Int {
        256 + text.utf8.count + fromName.utf8.count + 2 * orderID.utf8.count + messageID.utf8.count
            + (attachments?.reduce(0) { $0 + 160 + $1.name.utf8.count + $1.url.utf8.count } ?? 0)
    }

    /// The attributes' keys, quoted once: a page of a hundred items writes each a hundred times.
    private enum Keys {
        static let partitionKey = JSONWriter.Key(Attribute.partitionKey.rawValue)
        static let sortKey = JSONWriter.Key(Attribute.sortKey.rawValue)
        static let orderID = JSONWriter.Key(Attribute.orderID.rawValue)
        static let messageID = JSONWriter.Key(Attribute.messageID.rawValue)
        static let messageType = JSONWriter.Key(Attribute.messageType.rawValue)
        static let fromName = JSONWriter.Key(Attribute.fromName.rawValue)
        static let text = JSONWriter.Key(Attribute.text.rawValue)
        static let createdDate = JSONWriter.Key(Attribute.createdDate.rawValue)
        static let read = JSONWriter.Key(Attribute.read.rawValue)
        static let timestamp = JSONWriter.Key(Attribute.timestamp.rawValue)
        static let storedAt = JSONWriter.Key(Attribute.storedAt.rawValue)
        static let orderNumber = JSONWriter.Key(Attribute.orderNumber.rawValue)
        static let attachments = JSONWriter.Key(Attribute.attachments.rawValue)
        static let threadID = JSONWriter.Key(Attribute.threadID.rawValue)
        static let inReplyTo = JSONWriter.Key(Attribute.inReplyTo.rawValue)
        static let readUpdatedAt = JSONWriter.Key(Attribute.readUpdatedAt.rawValue)
    }
}
