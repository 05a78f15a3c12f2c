/// The two kinds of Qualia message event the service accepts.
///
/// The raw value is the wire name used in webhooks, in the `message_type` query filter and
/// as the prefix of every sort key (`SK = {message_type}#{message_id}`).
public enum MessageType: String, Sendable, Hashable, CaseIterable, Codable {
    /// A message received from a Qualia customer or another outside party.
    case received = "message.received"
    /// A message sent by the integrating company's own system.
    case sent = "message.sent"
}
