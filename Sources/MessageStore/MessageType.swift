/// The two kinds of Qualia message event the service accepts.
///
/// The raw value is the wire name used in webhooks, in the `message_type` query filter and
/// as the prefix of every sort key (`SK = {message_type}#{message_id}`).
public enum MessageType: String, Sendable, Hashable, CaseIterable {
    /// A message received from a Qualia customer or another outside party.
    case received = "message.received"
    /// A message sent by the integrating company's own system.
    case sent = "message.sent"

    /// The type whose wire name has exactly these bytes; `nil` for anything else, including
    /// text that only looks the same after Unicode normalization.
    public init?(rawValue: String) {
        guard let type = Self.allCases.first(where: { $0.rawValue.hasSameUTF8(as: rawValue) }) else { return nil }
        self = type
    }
}
