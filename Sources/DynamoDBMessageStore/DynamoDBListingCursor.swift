import DynamoDB
import MessageStore
import Synchronization

/// The pages after the first of a DynamoDB listing larger than one Query page (see
/// ``DynamoDBMessageStore/listing(forOrder:type:unlessUnchangedSince:)``): one page per
/// chunk, read only when the client has taken the one before, keeping only the items whose
/// sort key was counted.
final class DynamoDBListingCursor: MessageListingCursor {
    private struct State: Sendable {
        var firstChunk: [StoredMessage]?
        /// Where the next page starts; `nil` once the query has no more pages.
        var next: QueryInput?
        /// Counted sort keys not handed out yet.
        var uncounted: Set<String>
    }

    private let state: Mutex<State>
    private let query: @Sendable (QueryInput) async throws -> QueryOutput

    /// Creates a cursor that hands out `firstChunk`, then the items of `rest`'s pages whose
    /// `SK` is among `counted`, fetching pages with `query`.
    init(firstChunk: [StoredMessage], rest: QueryInput, counted: Set<String>, query: @escaping @Sendable (QueryInput) async throws -> QueryOutput) {
        state = Mutex(State(firstChunk: firstChunk, next: rest, uncounted: counted))
        self.query = query
    }

    func nextChunk() async throws -> [StoredMessage]? {
        let (first, next, isDone) = state.withLock { state -> ([StoredMessage]?, QueryInput?, Bool) in
            if let first = state.firstChunk.take() { return (first, nil, false) }
            return (nil, state.next, state.uncounted.isEmpty)
        }
        if let first { return first }
        if isDone { return nil }
        guard var input = next else {
            let missing = state.withLock { $0.uncounted.count }
            await close()
            throw MessageStoreError.failed("\(missing) counted messages were no longer found by the listing's query")
        }
        let page: QueryOutput
        do {
            page = try await query(input)
        } catch {
            await close()
            throw error
        }
        input.exclusiveStartKey = page.lastEvaluatedKey
        let items = try page.items.filter { item in
            guard let sortKey = item[.sortKey]?.stringValue else { throw MessageStoreError.failed("item attribute SK is not a string") }
            return state.withLock { $0.uncounted.remove(sortKey) != nil }
        }
        let messages = try items.map(DynamoDBMessageStore.message(from:))
        state.withLock { $0.next = input.exclusiveStartKey == nil ? nil : input }
        return messages
    }

    func close() async {
        state.withLock { state in
            state.firstChunk = nil
            state.next = nil
            state.uncounted = []
        }
    }
}
