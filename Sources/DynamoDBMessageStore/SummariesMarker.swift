import DynamoDB
import MessageStore

/// A table-level item saying that every order with messages has its summary item: written by
/// `create-table` when it creates the table (no earlier release has written to it) and when a
/// backfill of order summaries ends. Outside every `MESSAGE#` and `ORDER#` partition.
///
/// While it is there, a write to an order that has no summary item knows the order has no
/// messages yet, and skips reading its partition to count them: one round trip fewer for each
/// new order. Without it (a table from an earlier release, not yet backfilled), a write counts.
/// An earlier release still writing after the backfill (a rolling deploy) writes messages
/// without summaries, which the next `create-table` reconciles, as the README says.
enum SummariesMarker {
    /// The marker's table key.
    static let key: Item = {
        var key: Item = [:]
        key[.partitionKey] = .string("TABLE#qualia-webhook")
        key[.sortKey] = .string("ORDER-SUMMARIES-COMPLETE")
        return key
    }()

    /// Writes the marker (idempotent).
    static func write(to tableName: String, client: DynamoDBClient) async throws {
        _ = try await client.putItem(PutItemInput(tableName: tableName, item: key))
    }

    /// Whether the marker is there (a strongly consistent read).
    static func isPresent(in tableName: String, client: DynamoDBClient) async throws -> Bool {
        try await client.getItem(GetItemInput(tableName: tableName, key: key, consistentRead: true)) != nil
    }
}
