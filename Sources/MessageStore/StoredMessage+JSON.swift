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
            item.field(Attribute.partitionKey.rawValue, partitionKey)
            item.field(Attribute.sortKey.rawValue, sortKey)
            item.field(Attribute.orderID.rawValue, orderID)
            item.field(Attribute.messageID.rawValue, messageID)
            item.field(Attribute.messageType.rawValue, messageType.rawValue)
            item.field(Attribute.fromName.rawValue, fromName)
            item.field(Attribute.text.rawValue, text)
            item.field(Attribute.createdDate.rawValue, createdDate)
            item.field(Attribute.read.rawValue, read)
            item.field(Attribute.timestamp.rawValue, timestamp)
            item.field(Attribute.storedAt.rawValue, storedAt)
            if let orderNumber { item.field(Attribute.orderNumber.rawValue, orderNumber) }
            if let attachments {
                item.key(Attribute.attachments.rawValue)
                Attachment.write(attachments, to: &item)
            }
            if let threadID { item.field(Attribute.threadID.rawValue, threadID) }
            if let inReplyTo { item.field(Attribute.inReplyTo.rawValue, inReplyTo) }
            if let readUpdatedAt { item.field(Attribute.readUpdatedAt.rawValue, readUpdatedAt) }
        }
    }
}
