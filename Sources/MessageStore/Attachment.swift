/// One attachment of a message, stored exactly as Qualia sent it.
///
/// Encodes with Qualia's own field names (`_id`, `name`, `url`, `tag`) in that order; `tag`
/// is left out when Qualia did not send one.
public struct Attachment: Sendable, Hashable {
    /// Qualia's attachment identifier (`_id`).
    public var id: String
    /// The file name shown to people.
    public var name: String
    /// Where the file can be downloaded (http or https).
    public var url: String
    /// Qualia's classification of the file, such as `contract`.
    public var tag: String?
    /// The file as the archiver stored it, once it has (not something Qualia sends).
    public var archive: ArchivedFile?

    /// Creates an attachment.
    public init(id: String, name: String, url: String, tag: String? = nil, archive: ArchivedFile? = nil) {
        self.id = id
        self.name = name
        self.url = url
        self.tag = tag
        self.archive = archive
    }

    /// Equal when every field holds the same bytes (see ``Swift/String/hasSameUTF8(as:)``)
    /// and the archived files are equal.
    public static func == (lhs: Attachment, rhs: Attachment) -> Bool {
        lhs.id.hasSameUTF8(as: rhs.id) && lhs.name.hasSameUTF8(as: rhs.name) && lhs.url.hasSameUTF8(as: rhs.url)
            && lhs.tag.hasSameUTF8(as: rhs.tag) && lhs.archive == rhs.archive
    }

    /// Hashes the identifier; consistent with ``==`` because equal bytes are equal strings.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
    }

    /// Qualia's field names for an attachment, in the order they are written: the one
    /// spelling that the JSON answers, the SQLite column's JSON and the DynamoDB map use.
    public enum Field: String, CaseIterable, Sendable {
        case id = "_id"
        case name
        case url
        case tag
    }
}
