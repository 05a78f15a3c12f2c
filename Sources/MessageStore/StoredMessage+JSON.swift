import JSON

// The spec's JSON for stored items, written with the one spelling of their names
// (``StoredMessage/Attribute``, ``Attachment/Field``): what a GET answers, and what the SQLite
// store keeps in its `attachments` column.

extension Attachment {
    /// Writes attachments as a JSON array of `{_id, name, url, tag?}` objects, in that order.
    public static func write(_ attachments: [Attachment], to writer: inout JSONWriter) {
        writer.array(attachments) { list, attachment in
            list.object { object in
                object.field(Field.id.rawValue, attachment.id)
                object.field(Field.name.rawValue, attachment.name)
                object.field(Field.url.rawValue, attachment.url)
                if let tag = attachment.tag { object.field(Field.tag.rawValue, tag) }
            }
        }
    }
}

extension StoredMessage {
    /// Writes the item with the spec's attribute names in the spec's order; `orderNumber`,
    /// `attachments`, `threadId`, `inReplyTo` and `readUpdatedAt` only when present.
    public func write(to writer: inout JSONWriter) {
        writer.object { item in
            item.field(Keys.partitionKey, partitionKey)
            item.field(Keys.sortKey, sortKey)
            item.field(Keys.orderID, orderID)
            item.field(Keys.messageID, messageID)
            item.field(Keys.messageType, messageType.rawValue)
            item.field(Keys.fromName, fromName)
            item.field(Keys.text, text)
            item.field(Keys.createdDate, createdDate)
            item.field(Keys.read, read)
            item.field(Keys.timestamp, timestamp)
            item.field(Keys.storedAt, storedAt)
            if let orderNumber { item.field(Keys.orderNumber, orderNumber) }
            if let attachments {
                item.key(Keys.attachments)
                Attachment.write(attachments, to: &item)
            }
            if let threadID { item.field(Keys.threadID, threadID) }
            if let inReplyTo { item.field(Keys.inReplyTo, inReplyTo) }
            if let readUpdatedAt { item.field(Keys.readUpdatedAt, readUpdatedAt) }
        }
    }

    /// About how many bytes ``write(to:)`` writes: room to reserve for a page of items.
    public var estimatedJSONBytes: Int {
        256 + text.utf8.count + fromName.utf8.count + 2 * orderID.utf8.count + messageID.utf8.count
            + (attachments?.reduce(0) { $0 + 48 + $1.name.utf8.count + $1.url.utf8.count } ?? 0)
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
