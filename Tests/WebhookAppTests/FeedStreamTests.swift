import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MessageStore
import NIOCore
import SendTest
import StoreTestSupport
import Synchronization
import Testing

@testable import WebhookApp

/// The change feed over HTTP (`/webhook/feed`) and live over a WebSocket (`/webhook/stream`),
/// on a live server over each store.
@Suite struct FeedStreamTests {
    static func message(order: String = "QO-FEED", id: String, text: String = "hello", at second: Int = 0) -> [String: Any] {
        var object = specExample()
        object["order_id"] = order
        object["message_id"] = id
        object["text"] = text
        object["timestamp"] = String(format: "2025-10-28T10:%02d:%02dZ", second / 60, second % 60)
        return object
    }

    static func streamClient(_ port: Int, password: String = testCredentials.password) -> FeedStreamClient {
        FeedStreamClient(baseURL: "http://127.0.0.1:\(port)", username: testCredentials.username, password: password)
    }

    /// The feed's end, as a cursor.
    static func endCursor(_ client: some TestClientProtocol) async throws -> String {
        let response = try await client.execute(uri: "/webhook/feed?after=now", method: .get, headers: validAuthorization)
        #expect(response.status == .ok)
        return try #require(try response.json()["next_cursor"] as? String)
    }

    /// Follows the stream until `count` events came or `timeout` passed.
    static func collect(
        _ stream: FeedStreamClient, after cursor: String?, orderID: String? = nil, count: Int, timeout: Duration = .seconds(20)
    ) async throws -> [StreamedEvent] {
        guard count > 0 else { return [] }
        let events = EventList()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                _ = try await stream.follow(after: cursor, orderID: orderID) { event in
                    events.append(event) < count
                }
            }
            group.addTask { try await Task.sleep(for: timeout) }
            try await group.next()
            group.cancelAll()
        }
        return events.all
    }

    // MARK: The feed

    @Test(arguments: StoreUnderTest.available)
    func theFeedPagesEveryChangeWithCursorsThatResume(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            let start = try await Self.endCursor(client)
            #expect(try await client.postMessage(Self.message(id: "M-1")).status == .ok)
            #expect(try await client.postMessage(Self.message(id: "M-1")).status == .ok)  // a duplicate: no event
            #expect(try await client.postMessage(Self.message(id: "M-1", text: "edited", at: 5)).status == .ok)
            #expect(try await client.postMessage(Self.message(order: "QO-OTHER", id: "M-2")).status == .ok)
            let patch = try await client.execute(
                uri: "/webhook/messages/QO-FEED/message.received/M-1", method: .patch, headers: validAuthorization,
                body: ByteBuffer(string: #"{"read":true}"#)
            )
            #expect(patch.status == .ok)

            var events: [[String: Any]] = []
            var cursor = start
            for _ in 0..<10 {
                let page = try await client.execute(uri: "/webhook/feed?limit=2&after=\(cursor)", method: .get, headers: validAuthorization)
                #expect(page.status == .ok)
                let body = try page.json()
                let batch = try #require(body["events"] as? [[String: Any]])
                events += batch
                cursor = try #require(body["next_cursor"] as? String)
                if batch.isEmpty { break }
            }
            #expect(events.map { $0["kind"] as? String } == ["message.created", "message.updated", "message.created", "message.read"])
            #expect(events.map { $0["message_id"] as? String } == ["M-1", "M-1", "M-2", "M-1"])
            let messages = events.compactMap { $0["message"] as? [String: Any] }
            #expect(messages.map { $0["text"] as? String } == ["hello", "edited", "hello", "edited"])
            #expect(messages.last?["read"] as? Bool == true)
            #expect(events.allSatisfy { ($0["cursor"] as? String)?.isEmpty == false })

            // One order only; and from an event's own cursor, exactly the rest.
            let order = try await client.execute(uri: "/webhook/feed?order_id=QO-OTHER&after=\(start)", method: .get, headers: validAuthorization)
            #expect(try (order.json()["events"] as? [[String: Any]])?.map { $0["message_id"] as? String } == ["M-2"])
            let second = try #require(events[1]["cursor"] as? String)
            let rest = try await client.execute(uri: "/webhook/feed?after=\(second)", method: .get, headers: validAuthorization)
            #expect(try (rest.json()["events"] as? [[String: Any]])?.map { $0["kind"] as? String } == ["message.created", "message.read"])
        }
    }

    @Test func theFeedRefusesWhatItDidNotGiveOutAndWhatItNoLongerKeeps() async throws {
        try await withService(.sqlite) { client, _, _ in
            for bad in ["nope", "now2", ReaderCursor.orders(unreadOnly: false, after: .init(lastMessageAt: 1, orderID: "QO-1")).text] {
                let response = try await client.execute(uri: "/webhook/feed?after=\(bad)", method: .get, headers: validAuthorization)
                #expect(response.status == .badRequest, "\(bad)")
                #expect(try response.json()["error"] as? String == "invalid_cursor")
            }
            let old = ReaderCursor.feed(after: FeedPosition(sequence: 1, time: UnixTime.nowMilliseconds() - 31 * 86_400_000)).text
            let expired = try await client.execute(uri: "/webhook/feed?after=\(old)", method: .get, headers: validAuthorization)
            #expect(expired.status == .gone)
            #expect(try expired.json()["error"] as? String == "cursor_expired")
            let limit = try await client.execute(uri: "/webhook/feed?limit=0", method: .get, headers: validAuthorization)
            #expect(limit.status == .badRequest)
            #expect(try await client.execute(uri: "/webhook/feed", method: .get).status == .unauthorized)
        }
    }

    // MARK: The stream

    @Test(arguments: StoreUnderTest.available)
    func theStreamReplaysThenGoesLiveAndResumesAfterADisconnect(_ kind: StoreUnderTest) async throws {
        try await withService(kind, setup: .live) { client, _, _ in
            let stream = Self.streamClient(try #require(client.port))
            let start = try await Self.endCursor(client)
            for index in 0..<3 { #expect(try await client.postMessage(Self.message(id: "M-\(index)")).status == .ok) }

            // Replay of the three, then one stored while connected.
            async let live = Self.collect(stream, after: start, count: 4)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await client.postMessage(Self.message(id: "M-live")).status == .ok)
            let first = try await live
            #expect(first.map(\.messageID) == ["M-0", "M-1", "M-2", "M-live"])

            // Disconnected: two more are stored; resuming from the last cursor gets exactly those.
            for index in 0..<2 { #expect(try await client.postMessage(Self.message(id: "M-gap-\(index)")).status == .ok) }
            let resumed = try await Self.collect(stream, after: first.last?.cursor, count: 2)
            #expect(resumed.map(\.messageID) == ["M-gap-0", "M-gap-1"])
            #expect(resumed.allSatisfy { $0.kind == "message.created" })

            // One order only.
            #expect(try await client.postMessage(Self.message(order: "QO-ELSEWHERE", id: "M-x")).status == .ok)
            let ofOrder = try await Self.collect(stream, after: start, orderID: "QO-ELSEWHERE", count: 1)
            #expect(ofOrder.map(\.orderID) == ["QO-ELSEWHERE"])
        }
    }

    @Test func theUpgradeNeedsCredentialsAndAValidCursorAndIsAnsweredAsAnyRequest() async throws {
        try await withService(.sqlite, setup: .live) { client, _, _ in
            let port = try #require(client.port)
            let upgrade = "GET %@ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n%@\r\n"
            let good = HTTPFramingTests.credentials + "\r\n"
            let wrong = "Authorization: Basic " + Data("\(testCredentials.username):nope".utf8).base64EncodedString() + "\r\n"
            let old = ReaderCursor.feed(after: FeedPosition(sequence: 1, time: UnixTime.nowMilliseconds() - 31 * 86_400_000)).text
            let cases: [(String, String, String)] = [
                ("/webhook/stream", "", "HTTP/1.1 401"),
                ("/webhook/stream", wrong, "HTTP/1.1 401"),
                ("/webhook/stream?after=garbage", good, "HTTP/1.1 400"),
                ("/webhook/stream?after=\(old)", good, "HTTP/1.1 410"),
                ("/webhook/stream?order_id=", good, "HTTP/1.1 400"),
                ("/webhook/stream", good, "HTTP/1.1 101"),
            ]
            for (path, auth, expected) in cases {
                let socket = try RawSocket(port: port)
                defer { socket.close() }
                try socket.send(String(format: upgrade, path, auth))
                // A refused upgrade closes its connection once answered; an accepted one stays open.
                let (response, _) = await socket.receive(for: .seconds(expected.hasSuffix("101") ? 1 : 15))
                #expect(response.hasPrefix(expected), "\(path) \(auth.isEmpty ? "without credentials" : ""): \(response.prefix(120))")
                if !expected.hasSuffix("101") { #expect(response.contains(#""error":"#), "\(path): a JSON error body") }
            }
            // Not an upgrade at all: 426, saying how.
            let plain = try await client.execute(uri: "/webhook/stream", method: .get, headers: validAuthorization)
            #expect(plain.status == .upgradeRequired)
            #expect(plain.headers[.upgrade] == "websocket")
            // With wrong credentials the client library sees the refusal.
            await #expect(throws: (any Error).self) {
                _ = try await Self.streamClient(port, password: "nope").follow(after: nil) { _ in false }
            }
        }
    }

    @Test func wrongPasswordsOnTheUpgradeCountOnceEach() async throws {
        try await withService(.sqlite, setup: .live, configure: { $0.auth.failureLimit = 3 }) { client, _, _ in
            let port = try #require(client.port)
            let wrong = "Authorization: Basic " + Data("\(testCredentials.username):nope".utf8).base64EncodedString() + "\r\n"
            var statuses: [String] = []
            for _ in 0..<4 {
                let socket = try RawSocket(port: port)
                defer { socket.close() }
                try socket.send(
                    "GET /webhook/stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\(wrong)\r\n"
                )
                let (response, _) = await socket.receive(for: .seconds(15))
                statuses.append(String(response.prefix(12)))
            }
            // Three failures lock out, the fourth is refused as locked out: none counted twice.
            #expect(statuses == ["HTTP/1.1 401", "HTTP/1.1 401", "HTTP/1.1 401", "HTTP/1.1 429"])
        }
    }

    /// A subscriber that stops reading is closed with 1013 once it falls too far behind, while
    /// every POST is answered meanwhile; resuming from its last cursor gets the rest.
    @Test(arguments: StoreUnderTest.available)
    func aSlowSubscriberIsClosedWith1013AndResumesWithoutLoss(_ kind: StoreUnderTest) async throws {
        // Enough data to fill the socket buffers between the server and a client that stops
        // reading (about 18 MB); on DynamoDB through a moto of its own, which the suite's other
        // tests do not wait behind.
        let moto = kind == .dynamodb ? try MotoProcess() : nil
        try await moto?.start()
        defer { moto?.stop() }
        let options = StoreUnderTest.Options(dynamoDBOperationTimeout: .seconds(30), dynamoDBEndpoint: moto?.endpoint)
        try await withService(kind, setup: .live, options: options, configure: { $0.feed.maximumSubscriberLag = 8 }) { client, _, _ in
            let port = try #require(client.port)
            let start = try await Self.endCursor(client)
            let big = String(repeating: "x", count: 150_000)
            let total = 120
            let received = EventList()
            let postsAnswered = EventList()
            async let ending = Self.streamClient(port).follow(after: start, orderID: nil) { event in
                // Reads nothing until every POST was answered: the server's writes to it back up.
                // (Not past cancellation: a cancelled sleep throws at once, and this loop would spin,
                // starving every other suite, with a backtrace taken for each throw.)
                while received.count == 0, postsAnswered.count == 0, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(50)) }
                return received.append(event) < total
            }
            try await Task.sleep(for: .milliseconds(300))
            // Every POST is answered while the subscriber reads nothing.
            for index in 0..<total {
                #expect(try await client.postMessage(Self.message(id: "M-\(index)", text: big)).status == .ok)
            }
            let marker = try #require(StreamedEvent(frame: #"{"cursor":"","kind":"","order_id":"","message_type":"","message_id":"","message":{}}"#))
            postsAnswered.append(marker)
            // The server closes the stream with 1013. A client that has read nothing for a while
            // may see that close as a reset instead (TCP drops what it had not read yet, the
            // close frame with it); either way the server cut it off before the end.
            let end: FeedStreamClient.Ending?
            do {
                end = try await ending
            } catch let error as IOError where error.errnoCode == ECONNRESET {
                end = nil
            }
            if let end { #expect(end.closeCode == 1013, "closed with \(String(describing: end.closeCode)) after \(received.count) events") }
            #expect(received.count < total)

            // Resuming from the last cursor received loses nothing and repeats nothing.
            let rest = try await Self.collect(Self.streamClient(port), after: received.all.last?.cursor ?? start, count: total - received.count)
            #expect((received.all + rest).map(\.messageID) == (0..<total).map { "M-\($0)" })
        }
    }
}

/// Events a test collected, in arrival order.
final class EventList: Sendable {
    private let events = Mutex<[StreamedEvent]>([])

    var all: [StreamedEvent] { events.withLock { $0 } }
    var count: Int { events.withLock { $0.count } }

    /// Adds an event; returns how many there are now.
    @discardableResult func append(_ event: StreamedEvent) -> Int {
        events.withLock {
            $0.append(event)
            return $0.count
        }
    }
}
