import Foundation
import Logging
import StoreTestSupport
import Testing

@testable import MessageStore
@testable import SQLiteMessageStore

/// The SQLite store's group commit: concurrent writes share transactions, each is answered
/// only with its transaction's outcome, and one failing write does not fail its neighbours.
@Suite struct SQLiteGroupCommitTests {
    let logger = Logger(label: "test")

    /// Stores `messages` all at once and returns each one's result, in order.
    private func storeConcurrently(_ messages: [StoredMessage], in store: SQLiteMessageStore) async -> [Result<StoreOutcome, any Error>] {
        await withTaskGroup(of: (Int, Result<StoreOutcome, any Error>).self) { group in
            for (index, message) in messages.enumerated() {
                group.addTask {
                    do { return (index, .success(try await store.store(message))) } catch { return (index, .failure(error)) }
                }
            }
            var results = [Result<StoreOutcome, any Error>?](repeating: nil, count: messages.count)
            for await (index, result) in group { results[index] = result }
            return results.map { $0! }
        }
    }

    @Test func concurrentWritesShareTransactionsAndAllSurviveReopening() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let configuration = SQLiteMessageStore.Configuration(path: folder.path("m.sqlite"))
        let store = try await SQLiteMessageStore.open(configuration, logger: logger)
        let messages = (0..<400).map { sampleMessage(id: "MSG-\($0)", text: "message \($0)") }

        let results = await storeConcurrently(messages, in: store)
        #expect(results.allSatisfy { (try? $0.get()) == .created })
        // One transaction per write would be 400; batching needs far fewer.
        #expect(store.committedTransactionCount < messages.count / 2)
        try await store.shutdown()

        let reopened = try await SQLiteMessageStore.open(configuration, logger: logger)
        let stored = try await reopened.messages(forOrder: "QO-123456", type: nil)
        #expect(Set(stored) == Set(messages))
        try await reopened.shutdown()
    }

    @Test func versionsOfOneMessageInOneBatchAreDecidedInTurn() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = try await SQLiteMessageStore.open(.init(path: folder.path("m.sqlite")), logger: logger)
        let versions = (1...50).map { version in
            var message = sampleMessage()
            message.timestamp += Int64(version)
            message.text = "version \(version)"
            return message
        }.shuffled()

        let outcomes = await storeConcurrently(versions + versions, in: store).compactMap { try? $0.get() }
        #expect(outcomes.count == 100)
        #expect(outcomes.filter { $0 == .created }.count == 1)
        #expect(outcomes.filter { $0 == .duplicate }.count <= 50)
        #expect(try await store.messages(forOrder: "QO-123456", type: nil).map(\.text) == ["version 50"])
        try await store.shutdown()
    }

    @Test func aFailingWriteDoesNotFailTheOthersInItsBatch() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("m.sqlite")
        let store = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
        // A real SQLite failure for one message only, raised inside the writer's transaction.
        let saboteur = try SQLiteConnection(path: path)
        try saboteur.execute(
            "CREATE TRIGGER reject_poison BEFORE INSERT ON messages WHEN NEW.messageId = 'POISON' BEGIN SELECT RAISE(ABORT, 'poison'); END"
        )
        saboteur.close()

        var messages = (0..<200).map { sampleMessage(id: "MSG-\($0)") }
        messages.insert(sampleMessage(id: "POISON"), at: 100)
        let results = await storeConcurrently(messages, in: store)

        #expect(throws: MessageStoreError.self) { try results[100].get() }
        let others = results.enumerated().filter { $0.offset != 100 }.map(\.element)
        #expect(others.allSatisfy { (try? $0.get()) == .created })
        let stored = try await store.messages(forOrder: "QO-123456", type: nil)
        #expect(stored.count == 200)
        #expect(!stored.contains { $0.messageID == "POISON" })
        try await store.shutdown()
    }

    @Test func shutdownAnswersEveryQueuedWriteAndKeepsEveryAcknowledgedOne() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let configuration = SQLiteMessageStore.Configuration(path: folder.path("m.sqlite"))
        let store = try await SQLiteMessageStore.open(configuration, logger: logger)
        let messages = (0..<300).map { sampleMessage(id: "MSG-\($0)") }

        async let results = storeConcurrently(messages, in: store)
        try await Task.sleep(for: .milliseconds(2))
        try await store.shutdown()
        let answered = await results

        let acknowledged = Set(zip(messages, answered).compactMap { message, result in (try? result.get()) != nil ? message : nil })
        for case .failure(let error) in answered {
            #expect((error as? MessageStoreError)?.kind == .unavailable)
        }
        let reopened = try await SQLiteMessageStore.open(configuration, logger: logger)
        let stored = Set(try await reopened.messages(forOrder: "QO-123456", type: nil))
        #expect(acknowledged.isSubset(of: stored))
        try await reopened.shutdown()
    }
}
