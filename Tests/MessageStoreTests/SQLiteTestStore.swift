import Logging
import StoreTestSupport

@testable import SQLiteMessageStore

/// A SQLite store on a fresh file, and the file's path, closed and removed after `body`: for
/// the tests that look at the file itself (its schema, its query plans, what a tool sees).
func withSQLiteStore(logger: Logger = Logger(label: "test"), _ body: (SQLiteMessageStore, String) async throws -> Void) async throws {
    let folder = try TemporaryDirectory()
    defer { folder.remove() }
    let path = folder.path("m.sqlite")
    let store = try await SQLiteMessageStore.open(.init(path: path), logger: logger)
    do {
        try await body(store, path)
    } catch {
        try? await store.shutdown()
        throw error
    }
    try await store.shutdown()
}
