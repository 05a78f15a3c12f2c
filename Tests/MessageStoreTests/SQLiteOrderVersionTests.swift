import Foundation
import Logging
import StoreTestSupport
import Testing

@testable import MessageStore
@testable import SQLiteMessageStore

/// The SQLite store's per-order versions, which let a reader reuse what it made of a read
/// for as long as, and only as long as, the order is unchanged, whoever changed it.
@Suite struct SQLiteOrderVersionTests {
    let logger = Logger(label: "test")

    /// What a listing read found: nothing new, or every message with the version it read.
    private enum Read: Equatable {
        case unchanged
        case messages([StoredMessage], version: Int64?)
    }

    private func read(_ store: SQLiteMessageStore, _ order: String = "QO-123456", since version: Int64?) async throws -> Read {
        switch try await store.listing(forOrder: order, type: nil, unlessUnchangedSince: version) {
        case .unchanged:
            return .unchanged
        case .listing(let listing):
            var messages: [StoredMessage] = []
            for try await chunk in listing { messages += chunk }
            return .messages(messages, version: listing.version)
        }
    }

    private func version(of read: Read) throws -> Int64 {
        guard case .messages(_, let version?) = read else { throw VersionError.noVersion }
        return version
    }

    private enum VersionError: Error { case noVersion }

    @Test func anUnchangedOrderIsReportedAsUnchangedAndEveryChangeIsSeen() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = try await SQLiteMessageStore.open(.init(path: folder.path("m.sqlite")), logger: logger)

        let empty = try version(of: try await read(store, since: nil))
        #expect(try await read(store, since: empty) == .unchanged)

        _ = try await store.store(sampleMessage())
        let afterCreate = try await read(store, since: empty)
        #expect(afterCreate == .messages([sampleMessage()], version: try version(of: afterCreate)))
        let first = try version(of: afterCreate)
        #expect(first != empty)

        // A duplicate and a stale delivery change nothing, so the order stays unchanged.
        _ = try await store.store(sampleMessage())
        var older = sampleMessage()
        older.timestamp -= 1
        older.text = "older"
        _ = try await store.store(older)
        #expect(try await read(store, since: first) == .unchanged)

        var newer = sampleMessage()
        newer.timestamp += 1
        newer.read = true
        _ = try await store.store(newer)
        let afterUpdate = try await read(store, since: first)
        #expect(try version(of: afterUpdate) != first)
        #expect(afterUpdate == .messages([newer], version: try version(of: afterUpdate)))

        // Another order's change leaves this one unchanged.
        let current = try version(of: afterUpdate)
        _ = try await store.store(sampleMessage(order: "QO-OTHER"))
        #expect(try await read(store, since: current) == .unchanged)
        try await store.shutdown()
    }

    @Test func changesFromAnotherInstanceOrAnotherToolAreSeen() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("m.sqlite")
        let reader = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
        let writer = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
        _ = try await reader.store(sampleMessage())
        let known = try version(of: try await read(reader, since: nil))

        _ = try await writer.store(sampleMessage(id: "MSG-002"))
        let afterOtherInstance = try await read(reader, since: known)
        #expect(try version(of: afterOtherInstance) != known)
        guard case .messages(let messages, _) = afterOtherInstance else { return }
        #expect(messages.map(\.messageID) == ["MSG-001", "MSG-002"])

        // A tool editing the file directly (sqlite3, an older binary) is seen too: the
        // database's own triggers keep the versions.
        let seen = try version(of: afterOtherInstance)
        let tool = try SQLiteConnection(path: path)
        try tool.execute("UPDATE messages SET text = 'edited by hand' WHERE messageId = 'MSG-001'")
        let afterEdit = try await read(reader, since: seen)
        #expect(try version(of: afterEdit) != seen)
        try tool.execute("DELETE FROM messages WHERE messageId = 'MSG-002'")
        #expect(try await read(reader, since: try version(of: afterEdit)) != .unchanged)
        tool.close()

        try await writer.shutdown()
        try await reader.shutdown()
    }
}
