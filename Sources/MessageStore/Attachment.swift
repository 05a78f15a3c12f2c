import JSON

/// One attachment of a message, stored exactly as Qualia sent it.
///
/// Encodes with Qualia's own field names (`_id`, `name`, `url`, `tag`) in that order; `tag`
/// is left out when Qualia did not send one.
public struct Attachment: Sendable, Hashable, Codable {
    /// Qualia's attachment identifier (`_id`).
    public var id: String
    /// The file name shown to people.
    public var name: String
    /// Where the file can be downloaded (http or https).
    public var url: String
    /// Qualia's classification of the file, such as `contract`.
    public var tag: String?

    /// Creates an attachment.
    public init(id: String, name: String, url: String, tag: String? = nil) {
        self.id = id
        self.name = name
        self.url = url
        self.tag = tag
    }

    private enum CodingKeys: String, CodingKey {
        case id = "_id"
        case name
        case url
        case tag
    }
}

extension Attachment {
    /// Writes attachments as a JSON array of `{_id, name, url, tag?}` objects, in that order.
    public static func write(_ attachments: [Attachment], to writer: inout JSONWriter) {
        writer.array(attachments) { list, attachment in
            list.object { object in
                object.field("_id", attachment.id)
                object.field("name", attachment.name)
                object.field("url", attachment.url)
                if let tag = attachment.tag { object.field("tag", tag) }
            }
        }
    }
}
