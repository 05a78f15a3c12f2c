/// A name that DynamoDB defines as a string on the wire (`ALL_OLD`, `HASH`, `ACTIVE`, …),
/// kept as a small type so that call sites use its static members rather than spelling the
/// string, while any value AWS adds later still decodes.
///
/// Each conforming type is a struct over its raw string, not an enum: an answer naming a
/// status this client has never heard of is still read, and compares unequal to the known ones.
/// It encodes and decodes as that bare string, exactly as the wire has it (the standard
/// library's `Codable` for string-backed `RawRepresentable` types).
public protocol DynamoDBName: RawRepresentable<String>, Sendable, Hashable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    /// The name with this raw string.
    init(rawValue: String)
}

extension DynamoDBName {
    public init(stringLiteral value: String) { self.init(rawValue: value) }

    public var description: String { rawValue }
}
