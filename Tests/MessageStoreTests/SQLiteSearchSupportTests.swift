import StoreTestSupport
import Testing

@testable import SQLiteMessageStore

/// What issue 13's SQLite search stands on: the linked SQLite has FTS5 with the trigram
/// tokenizer (SQLite 3.34 and later), which finds any substring of three or more characters,
/// ignoring case, and finds nothing for shorter ones (those need `LIKE` on the rows found).
@Suite struct SQLiteSearchSupportTests {
    @Test func theLinkedSQLiteHasFTS5WithTheTrigramTokenizer() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let connection = try SQLiteConnection(path: folder.path("fts.sqlite"))
        defer { connection.close() }
        try connection.execute("CREATE VIRTUAL TABLE probe USING fts5(text, tokenize = 'trigram')")
        try connection.execute("INSERT INTO probe (text) VALUES ('Closing scheduled for Friday'), ('Wire of $1,250.00 received')")
        #expect(try connection.scalarText("SELECT count(*) FROM probe WHERE probe MATCH '\"CLOS\"'") == "1")
        #expect(try connection.scalarText("SELECT count(*) FROM probe WHERE probe MATCH '\"1,250\" AND \"wire\"'") == "1")
        #expect(try connection.scalarText("SELECT count(*) FROM probe WHERE probe MATCH '\"ed f\"'") == "1", "across a word boundary")
        #expect(try connection.scalarText("SELECT count(*) FROM probe WHERE probe MATCH '\"fr\"'") == "0", "two characters find nothing")
    }
}
