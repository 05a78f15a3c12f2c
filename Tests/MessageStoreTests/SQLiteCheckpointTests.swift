import Foundation
import Logging
import StoreTestSupport
import Testing

@testable import MessageStore
@testable import SQLiteMessageStore

/// Checkpoints: off the writer's commits, yet the write-ahead log stays bounded.
@Suite struct SQLiteCheckpointTests {
    let logger = Logger(label: "test")

    @Test func theWriterLeavesCheckpointsToTheCheckpointer() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = try await SQLiteMessageStore.open(.init(path: folder.path("m.sqlite")), logger: logger)
        #expect(try await store.writerPragma("wal_autocheckpoint") == "0")
        try await store.shutdown()
    }

    @Test func theLogStaysBoundedUnderSustainedWritesAndNothingIsLost() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("m.sqlite")
        // Small thresholds so that a test-sized load crosses them many times.
        let configuration = SQLiteMessageStore.Configuration(path: path, checkpointPages: 50, maximumLogPages: 400)
        let store = try await SQLiteMessageStore.open(configuration, logger: logger)
        let text = String(repeating: "closing documents ", count: 1000)  // 18 KB: about 5 pages a message
        var written: [StoredMessage] = []
        for round in 0..<50 {
            let messages = (0..<20).map { sampleMessage(id: "MSG-\(round)-\($0)", text: text) }
            try await withThrowingTaskGroup(of: StoreOutcome.self) { group in
                for message in messages { group.addTask { try await store.store(message) } }
                for try await outcome in group { #expect(outcome == .created) }
            }
            written += messages
        }
        // 1,000 messages of 18 KB would leave a log of over 18 MB (4,500 frames, more with the
        // search index) without checkpoints. The bound is 400 pages, overshot by the batches
        // committed while a checkpoint was busy: on a busy machine, up to about 1,040 frames
        // were seen before the search index, 1,606 since (each batch also writes its index
        // segment, and FTS5 merges segments now and then).
        let logBytes = try #require(try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int)
        #expect(logBytes < 2200 * 4120)  // 2,200 frames of a 4 KB page and its header
        #expect(store.backgroundCheckpointCount > 0)
        try await store.shutdown()

        let reopened = try await SQLiteMessageStore.open(configuration, logger: logger)
        #expect(Set(try await reopened.messages(forOrder: "QO-123456", type: nil)) == Set(written))
        try await reopened.shutdown()
    }
}
