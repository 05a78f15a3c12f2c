import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import StoreTestSupport
import Synchronization
import Testing

@testable import MessageStore
@testable import SQLiteMessageStore
@testable import WebhookApp

/// `GET /webhook/messages/{order_id}` streams its answer: the same bytes as the whole-answer
/// encoding, whatever the order's size, with a count that never lies, and a SQLite reader
/// that goes back to the pool when the client leaves mid-answer.
@Suite struct ListingStreamTests {
    /// Small chunks and pages, so that even modest orders take the multi-chunk and
    /// multi-page paths (the DynamoDB one with its key pass).
    static let smallChunks = StoreUnderTest.Options(
        dynamoDBQueryPageSize: 4, sqliteListingChunkLimits: ListingChunkLimits(messages: 3, bytes: 64 * 1024)
    )

    @Test(arguments: StoreUnderTest.available)
    func theStreamedAnswerIsByteForByteTheReferenceEncoding(_ kind: StoreUnderTest) async throws {
        try await withService(kind, options: Self.smallChunks) { client, store, _ in
            _ = try await store.store(sampleMessage(order: "QO-ONE"))
            // Many: both types, ids out of order, texts needing escapes, and enough bytes
            // (about 1.3 MB) that the answer streams rather than being sent whole.
            for n in [7, 3, 11, 0, 5, 9, 1, 13, 2, 12, 4, 10, 6, 8] {
                var message = sampleMessage(
                    order: "QO-MANY", id: "MSG-\(n)", type: n % 3 == 0 ? .sent : .received,
                    text: "line \"\(n)\"\n\t\\ é 🎉 " + String(repeating: "x", count: 90_000 + n)
                )
                if n % 4 == 0 { message.attachments = nil; message.orderNumber = nil }
                _ = try await store.store(message)
            }
            for order in ["QO-EMPTY", "QO-ONE", "QO-MANY"] {
                for type in [nil, MessageType.received, .sent] {
                    let query = type.map { "?message_type=\($0.rawValue)" } ?? ""
                    let response = try await client.getMessages(order + query)
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                    let reference = MessageListResponse(
                        orderID: order, messageType: type?.rawValue, messages: try await store.messages(forOrder: order, type: type)
                    ).jsonBody
                    #expect(response.body == reference, "\(order)\(query)")
                }
            }
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aLargeOrderComesBackWholeAndInSKOrder(_ kind: StoreUnderTest) async throws {
        // 24 messages of 199 KB (about 4.8 MB): several chunks on SQLite, and with pages of 5
        // items, five DynamoDB pages of about 1 MB each.
        let options = StoreUnderTest.Options(dynamoDBQueryPageSize: 5)
        try await withService(kind, options: options) { client, store, _ in
            let ids = (0..<24).map { String(format: "MSG-%03d", $0) }.shuffled()
            for (index, id) in ids.enumerated() {
                let fill = Character(UnicodeScalar(UInt8(ascii: "a") + UInt8(index % 26)))
                _ = try await store.store(sampleMessage(order: "QO-LARGE", id: id, text: String(repeating: fill, count: 199 * 1024)))
            }
            let response = try await client.getMessages("QO-LARGE")
            #expect(response.status == .ok)
            let items = try #require(try response.json()["messages"] as? [[String: Any]])
            #expect(items.count == 24)
            #expect(try response.json()["count"] as? Int == 24)
            #expect(items.compactMap { $0["SK"] as? String } == ids.sorted().map { "message.received#" + $0 })
            #expect(items.allSatisfy { ($0["text"] as? String)?.utf8.count == 199 * 1024 })
            let reference = MessageListResponse(
                orderID: "QO-LARGE", messageType: nil, messages: try await store.messages(forOrder: "QO-LARGE", type: nil)
            ).jsonBody
            #expect(response.body == reference)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aWriteRacingAStreamedListingNeverMakesItsCountLie(_ kind: StoreUnderTest) async throws {
        try await withService(kind, options: Self.smallChunks) { client, store, _ in
            let text = String(repeating: "r", count: 20_000)
            for n in 0..<20 {
                _ = try await store.store(sampleMessage(order: "QO-RACE", id: String(format: "MSG-%03d", n * 2), text: text))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // New messages between the existing ones, and newer versions of old ones.
                    for n in 0..<30 {
                        _ = try await store.store(sampleMessage(order: "QO-RACE", id: String(format: "MSG-%03d", n * 2 + 1), text: text))
                        var newer = sampleMessage(order: "QO-RACE", id: String(format: "MSG-%03d", (n % 20) * 2), text: text + "!")
                        newer.timestamp += Int64(n + 1)
                        _ = try await store.store(newer)
                    }
                }
                for _ in 0..<3 {
                    group.addTask {
                        for _ in 0..<8 {
                            let response = try await client.getMessages("QO-RACE")
                            #expect(response.status == .ok)
                            let body = try response.json()
                            let messages = try #require(body["messages"] as? [[String: Any]])
                            #expect(body["count"] as? Int == messages.count)
                            let keys = messages.compactMap { $0["SK"] as? String }
                            #expect(keys == keys.sorted())
                        }
                    }
                }
                try await group.waitForAll()
            }
            let final = try await client.getMessages("QO-RACE").json()
            #expect(final["count"] as? Int == 50)
        }
    }

    @Test func aClientLeavingMidAnswerGivesTheSQLiteReaderBack() async throws {
        try await withService(.sqlite, setup: .live) { client, store, _ in
            let sqlite = try #require(store as? SQLiteMessageStore)
            let port = try #require(client.port)
            for n in 0..<40 {
                _ = try await store.store(sampleMessage(order: "QO-LEAVE", id: "MSG-\(n)", text: String(repeating: "z", count: 100_000)))
            }
            for _ in 0..<6 {
                let socket = try RawSocket(port: port)
                try socket.send("GET /webhook/messages/QO-LEAVE HTTP/1.1\r\nHost: test\r\nAuthorization: \(validAuthorization[.authorization]!)\r\n\r\n")
                // Read the head and a little of the body, then leave with the rest unread.
                var buffer = [UInt8](repeating: 0, count: 16 * 1024)
                let received = buffer.withUnsafeMutableBytes { recv(socket.descriptor, $0.baseAddress, $0.count, 0) }
                #expect(received > 0)
                #expect(String(decoding: buffer.prefix(12), as: UTF8.self) == "HTTP/1.1 200")
                var reset = linger(l_onoff: 1, l_linger: 0)  // close with a reset, as a dropped client does
                setsockopt(socket.descriptor, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
                socket.close()
            }
            let deadline = ContinuousClock.now + .seconds(20)
            while sqlite.readersInUse > 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(sqlite.readersInUse == 0)
            // The store still serves, answers whole, and its readers go back each time.
            for _ in 0..<10 {
                let response = try await client.getMessages("QO-LEAVE")
                #expect(try response.json()["count"] as? Int == 40)
            }
            #expect(sqlite.readersInUse == 0)
        }
    }

    @Test func onlySmallAnswersAreKeptByTheListingCache() async throws {
        try await withStore(.sqlite) { store in
            _ = try await store.store(sampleMessage(order: "QO-SMALL"))
            for n in 0..<4 {
                _ = try await store.store(sampleMessage(order: "QO-BIG", id: "MSG-\(n)", text: String(repeating: "b", count: 100_000)))
            }
            let cache = ListingCache(capacity: 64 * 1024 * 1024)
            let router = Router(context: WebhookRequestContext.self)
            router.add(middleware: ErrorMiddleware())
            let doorbell = FeedDoorbell()
            MessageController(
                store: store, maxBodyBytes: 1 << 20, listingCache: cache,
                reader: ReaderController(store: store, maxBodyBytes: 1 << 20, doorbell: doorbell), doorbell: doorbell, archiveBell: nil
            ).addRoutes(to: router.group("webhook"))
            try await Application(router: router).test(.router) { client in
                let big = try await client.getMessages("QO-BIG")
                #expect(try big.json()["count"] as? Int == 4)
                #expect(cache.entry(for: .init(orderID: "QO-BIG", type: nil)) == nil)
                #expect(cache.keptBytes == 0)

                let small = try await client.getMessages("QO-SMALL")
                #expect(try small.json()["count"] as? Int == 1)
                #expect(cache.entry(for: .init(orderID: "QO-SMALL", type: nil))?.body == small.body)

                #expect(try await client.getMessages("QO-BIG").body == big.body)
                #expect(try await client.getMessages("QO-SMALL").body == small.body)
            }
        }
    }
}
