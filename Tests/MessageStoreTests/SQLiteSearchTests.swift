import Foundation
import Logging
import StoreTestSupport
import Testing

@testable import MessageStore
@testable import SQLiteMessageStore

/// What is particular to SQLite's search: the FTS5 index is filled for a database from
/// before search, kept by the database's own triggers, and read as a range of its row ids.
@Suite struct SQLiteSearchTests {
    let logger = Logger(label: "test")

    private static func search(_ store: any MessageStore, _ text: String, limit: Int = 50) async throws -> [String] {
        try await store.search(SearchRequest(query: SearchQuery(parsing: text), limit: limit)).items.map(\.messageID)
    }

    @Test func aDatabaseFromBeforeSearchIsIndexedWhenOpened() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("m.sqlite")
        let store = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
        for index in 0..<30 {
            var message = sampleMessage(order: "QO-\(index % 4)", id: "M-\(index)", text: index % 3 == 0 ? "wire instructions \(index)" : "hello \(index)")
            message.storedAt = ISO8601.string(fromUnixMilliseconds: 1_761_647_400_000 + Int64(index / 2) * 1000)
            _ = try await store.store(message)
        }
        try await store.shutdown()
        // What the previous release's database lacks.
        let tool = try SQLiteConnection(path: path)
        try tool.execute("""
            DROP TRIGGER messages_insert_indexes_search; DROP TRIGGER messages_update_reindexes_search;
            DROP TRIGGER messages_delete_unindexes_search; DROP TABLE message_search; DROP VIEW search_content;
            DROP TABLE search_documents;
            """)
        tool.close()

        let reopened = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
        let found = try await Self.search(reopened, "wire")
        #expect(found == [27, 24, 21, 18, 15, 12, 9, 6, 3, 0].map { "M-\($0)" }, "every message, newest first")
        #expect(try await Self.search(reopened, "document.pdf").count == 30, "attachment names are indexed too")
        // The index is consistent with its content.
        let check = try SQLiteConnection(path: path)
        try check.execute("INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)")
        check.close()
        // And it goes on from there.
        var newest = sampleMessage(order: "QO-9", id: "M-new", text: "new wire")
        newest.storedAt = "2025-10-28T10:31:00Z"
        _ = try await reopened.store(newest)
        #expect(try await Self.search(reopened, "wire").first == "M-new")
        try await reopened.shutdown()
    }

    @Test func readChangesLeaveTheIndexAloneAndNewVersionsMoveToTheTop() async throws {
        try await withSQLiteStore { store, path in
            for index in 0..<3 { _ = try await store.store(sampleMessage(id: "M-\(index)", text: "escrow \(index)")) }
            func documents() throws -> [String] {
                let connection = try SQLiteConnection(path: path)
                defer { connection.close() }
                let statement = try connection.prepared("SELECT SK, docid FROM search_documents ORDER BY docid")
                defer { statement.reset() }
                var rows: [String] = []
                while try statement.step() { rows.append("\(statement.text(at: 0) ?? "") \(statement.int64(at: 1))") }
                return rows
            }
            let before = try documents()
            _ = try await store.setRead(true, of: MessageKey(orderID: "QO-123456", messageType: .received, messageID: "M-0"), at: 10)
            #expect(try documents() == before, "a read change does not touch the index")

            var newer = sampleMessage(id: "M-0", text: "escrow revised")
            newer.timestamp += 1
            newer.storedAt = "2025-10-28T10:31:00Z"
            _ = try await store.store(newer)
            let after = try documents()
            #expect(after.count == 3)
            #expect(after.last?.hasPrefix("message.received#M-0 ") == true, "the new version has the greatest number")
            #expect(try await Self.search(store, "escrow") == ["M-0", "M-2", "M-1"])

            let check = try SQLiteConnection(path: path)
            try check.execute("INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)")
            try check.execute("DELETE FROM messages WHERE SK = 'message.received#M-1'")
            try check.execute("INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)")
            check.close()
            #expect(try await Self.search(store, "escrow") == ["M-0", "M-2"], "a row deleted by a tool leaves the index")
        }
    }

    /// The walk newest first is the FTS table's own order: its match, its row ids from the
    /// top down, and a lookup by key for each candidate; never a sort.
    @Test func candidatesAreReadDownTheIndexWithoutASort() async throws {
        try await withSQLiteStore { store, path in
            for index in 0..<20 { _ = try await store.store(sampleMessage(id: "M-\(index)", text: "escrow \(index)")) }
            let connection = try SQLiteConnection(path: path)
            defer { connection.close() }
            let statement = try connection.prepared("EXPLAIN QUERY PLAN " + SQLiteSearchIndex.candidatesSQL)
            defer { statement.reset() }
            var details: [String] = []
            while try statement.step() { details.append(statement.text(at: 3) ?? "") }
            // FTS5's plan: M a match, 4 descending row ids, < and > bounds on them; no temporary
            // B-tree, so no sort.
            #expect(details == [
                "SCAN s VIRTUAL TABLE INDEX 192:M4<>", "SEARCH d USING INTEGER PRIMARY KEY (rowid=?)", "SEARCH m USING PRIMARY KEY (PK=? AND SK=?)",
            ], "\(details)")
        }
    }

    /// A burst of more messages in one second than the second's range of numbers holds, and a
    /// clock set back: numbers keep growing, and the walk still puts results in order.
    @Test func numbersKeepGrowingWhenTheClockGoesBack() async throws {
        try await withSQLiteStore { store, _ in
            let base: Int64 = 1_761_647_400_000
            for (index, offset) in [5, 6, 2, 9, 1].enumerated() {
                var message = sampleMessage(id: "M-\(index)", text: "escrow")
                message.storedAt = ISO8601.string(fromUnixMilliseconds: base + Int64(offset) * 1000)
                _ = try await store.store(message)
            }
            #expect(try await Self.search(store, "escrow") == ["M-3", "M-1", "M-0", "M-2", "M-4"])
            var pages: [String] = []
            var after: SearchPosition?
            repeat {
                let page = try await store.search(SearchRequest(query: SearchQuery(parsing: "escrow"), after: after, limit: 2))
                pages += page.items.map(\.messageID)
                after = page.next
            } while after != nil
            #expect(pages == ["M-3", "M-1", "M-0", "M-2", "M-4"])
        }
    }

    /// The index holds trigrams without positions: a message holding a term's trigrams apart
    /// is a candidate, and the check on each candidate turns it away.
    @Test func trigramsApartAreACandidateButNotAResult() async throws {
        try await withSQLiteStore { store, _ in
            _ = try await store.store(sampleMessage(id: "M-apart", text: "clo los osi sin ing"))
            _ = try await store.store(sampleMessage(id: "M-whole", text: "closing"))
            #expect(try await Self.search(store, "closing") == ["M-whole"])
            #expect(try await Self.search(store, "\"sin ing\"") == ["M-apart"])
        }
    }

    @Test func aTermIsLookedUpByItsTrigramsQuotedAndAtMostTwentyFourOfThem() {
        #expect(SQLiteSearchIndex.matchExpression(["Closing"]) == #""Clo" "los" "osi" "sin" "ing""#)
        #expect(SQLiteSearchIndex.matchExpression(["a\"b*c"]) == #""a""b" """b*" "b*c""#)
        #expect(SQLiteSearchIndex.matchExpression(["abab", "ABA"]) == #""aba" "bab""#, "each trigram once, whatever its case")
        // 200 different scalars (CJK ideographs), so that no trigram repeats.
        let long = String(String.UnicodeScalarView((0..<200).map { Unicode.Scalar(0x4E00 + UInt32($0))! }))
        let strings = SQLiteSearchIndex.matchExpression([long]).split(separator: " ")
        #expect(strings.count <= SQLiteSearchIndex.maximumTrigramsPerTerm + 1)
        #expect(strings.first == "\"\(long.prefix(3))\"" && strings.last == "\"\(long.suffix(3))\"", "the first and last trigrams are always used")
    }
}
