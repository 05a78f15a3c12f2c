import AsyncHTTPClient
import Foundation
import DynamoDB
import HTTPTypes
import HummingbirdTesting
import Logging
import MessageStore
import SQLiteMessageStore
import NIOCore
import NIOHTTP1
import StoreTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import WebhookApp

/// Claims about the real process: crashes, shutdown and store outages.
@Suite(.serialized) struct ResilienceTests {
    static func payload(order: String, id: String, text: String) -> [String: Any] {
        var payload = specExample()
        payload["order_id"] = order
        payload["message_id"] = id
        payload["text"] = text
        return payload
    }

    /// POSTs with a short deadline: once the server is killed, the client would otherwise
    /// keep retrying the refused connection until its 10 s connect timeout.
    static func post(_ payload: [String: Any], to baseURL: String, timeout: TimeAmount = .seconds(2)) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + "/webhook/messages")
        request.method = .POST
        request.headers.add(name: "Authorization", value: validAuthorization[.authorization]!)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(try jsonBody(payload))
        return try await HTTPClient.shared.execute(request, timeout: timeout)
    }

    @Test func everyAcknowledgedMessageSurvivesSIGKILLUnderLoad() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let environment = ["SQLITE_PATH": folder.path("messages.sqlite"), "LOG_LEVEL": "warning"]
        let server = try await ServerProcess(environment: environment, in: folder)

        let acknowledged = Acknowledged()
        let workers = 16
        let loadStarted = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var sequence = 0
                    while ContinuousClock.now - loadStarted < .seconds(20) {
                        sequence += 1
                        let text = "worker \(worker) message \(sequence)\nü 😀 \u{0}\t" + String(repeating: "x", count: Int.random(in: 0...2000))
                        let payload = Self.payload(order: "QO-CRASH-\(worker)", id: "MSG-\(sequence)", text: text)
                        guard let response = try? await Self.post(payload, to: server.baseURL) else { return }
                        _ = try? await response.body.collect(upTo: 1 << 20)
                        if response.status == .ok { acknowledged.record("\(worker)/\(sequence)", text) }
                    }
                }
            }
            group.addTask {
                // Kill mid-load: once enough deliveries were acknowledged (a time alone
                // would depend on how busy the machine is), but at 15 s whatever happened.
                try await Task.sleep(for: .milliseconds(500))
                while acknowledged.count < 80 && ContinuousClock.now - loadStarted < .seconds(15) {
                    try await Task.sleep(for: .milliseconds(20))
                }
                server.send(SIGKILL)
            }
            try await group.waitForAll()
        }
        let killed = try await server.waitForExit(timeout: .seconds(10))
        #expect(killed?.reason == .uncaughtSignal)
        let sent = acknowledged.all
        try #require(sent.count > 50, "the load must have been running when the server was killed (\(sent.count) acknowledged)")

        let restarted = try await ServerProcess(environment: environment, in: folder)
        for worker in 0..<workers {
            var request = HTTPClientRequest(url: restarted.baseURL + "/webhook/messages/QO-CRASH-\(worker)")
            request.headers.add(name: "Authorization", value: validAuthorization[.authorization]!)
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
            let body = try await response.body.collect(upTo: 64 << 20)
            let listing = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
            let stored = Dictionary(
                ((listing["messages"] as? [[String: Any]]) ?? []).map { ($0["messageId"] as? String ?? "", $0) }, uniquingKeysWith: { $1 }
            )
            let example = specExample()
            for (key, text) in sent where key.hasPrefix("\(worker)/") {
                let id = "MSG-" + key.split(separator: "/")[1]
                let item = try #require(stored[id], "acknowledged message \(key) is missing after the crash")
                #expect(item["text"] as? String == text, "\(key) text differs")
                #expect(item["fromName"] as? String == example["from_name"] as? String)
                #expect(item["createdDate"] as? String == example["created_date"] as? String)
                #expect(item["orderNumber"] as? String == example["order_number"] as? String)
                #expect((item["attachments"] as? [[String: Any]])?.first?["url"] as? String == "https://example.com/files/document.pdf")
            }
            // The search index was written in the same transactions: a search across orders
            // finds every message the crash kept, and nothing else.
            let found = try await Self.searchAll("\"worker \(worker) message\"", at: restarted.baseURL)
            #expect(found == Set(stored.keys), "worker \(worker): the search index and the messages disagree after the crash")
        }
        restarted.send(SIGTERM)
        #expect(try await restarted.waitForExit(timeout: .seconds(30))?.status == 0)
    }

    /// The message ids of every result of `query`, following the pages.
    static func searchAll(_ query: String, at baseURL: String) async throws -> Set<String> {
        var ids: Set<String> = []
        var cursor: String?
        repeat {
            let q = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
            var request = HTTPClientRequest(url: baseURL + "/webhook/search?limit=100&q=\(q)" + (cursor.map { "&cursor=\($0)" } ?? ""))
            request.headers.add(name: "Authorization", value: validAuthorization[.authorization]!)
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
            let body = try await response.body.collect(upTo: 64 << 20)
            #expect(response.status == .ok)
            let page = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
            for result in page["results"] as? [[String: Any]] ?? [] { ids.insert(result["message_id"] as? String ?? "") }
            cursor = page["next_cursor"] as? String
        } while cursor != nil
        return ids
    }

    @Test func sigtermFinishesInFlightRequestsStopsAcceptingAndExitsZero() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let environment = ["SQLITE_PATH": folder.path("messages.sqlite"), "SHUTDOWN_TIMEOUT_SECONDS": "10"]
        let server = try await ServerProcess(environment: environment, in: folder)

        let body = String(decoding: try JSONSerialization.data(withJSONObject: Self.payload(order: "QO-TERM", id: "MSG-1", text: "in flight")), as: UTF8.self)
        let half = body.index(body.startIndex, offsetBy: body.count / 2)
        let connection = try RawSocket(port: server.port)
        defer { connection.close() }
        try connection.send(
            "POST /webhook/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: \(validAuthorization[.authorization]!)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body[..<half]
        )
        try await Task.sleep(for: .milliseconds(200))
        server.send(SIGTERM)
        try await Task.sleep(for: .milliseconds(500))

        #expect(throws: RawSocket.Failure.connect) { _ = try RawSocket(port: server.port) }  // no longer accepting
        #expect(server.process.isRunning, "the in-flight request keeps the server up")

        try connection.send(String(body[half...]))
        let response = connection.receiveAll()
        #expect(response.hasPrefix("HTTP/1.1 200"), "\(response)")
        #expect(response.contains(#""delivery":"created""#))

        let exit = try await server.waitForExit(timeout: .seconds(15))
        #expect(exit?.status == 0 && exit?.reason == .exit, "\(server.log)")
        #expect(server.log.contains("Message store closed"))

        let store = try await SQLiteMessageStore.open(.init(path: folder.path("messages.sqlite")), logger: Logger(label: "test"))
        #expect(try await store.messages(forOrder: "QO-TERM", type: nil).map(\.text) == ["in flight"])
        try await store.shutdown()
    }

    @Test(.enabled(if: MotoServer.isInstalled || MotoServer.isCI, "needs python3 -m moto.server (pip install 'moto[server]')"))
    func aDynamoDBOutageAnswers503AndTheServiceRecoversByItself() async throws {
        let moto = try MotoProcess()
        try await moto.start()
        defer { moto.stop() }
        let table = "outage-test"
        @Sendable func createTable() async throws {
            let client = try DynamoDBTestClient.make(endpoint: moto.endpoint)
            try await DynamoDBTestClient.createTable(table, client: client)
            try await client.shutdown()
        }
        try await createTable()

        let configuration = try AppConfiguration(environment: [
            "WEBHOOK_USERNAME": testCredentials.username, "WEBHOOK_PASSWORD": testCredentials.password, "STORE": "dynamodb",
            "DYNAMODB_TABLE": table, "AWS_ENDPOINT_URL_DYNAMODB": moto.endpoint, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
        ])
        let app = try await buildApplication(configuration, logger: Logger(label: "test"))
        try await app.test(.router) { (client) async throws -> Void in
            let before = try await client.postMessage(Self.payload(order: "QO-OUT", id: "MSG-1", text: "before"))
            #expect(before.status == .ok)

            moto.stop()
            let started = ContinuousClock.now
            let during = try await client.postMessage(Self.payload(order: "QO-OUT", id: "MSG-2", text: "during"))
            let waited = ContinuousClock.now - started
            #expect(during.status == .serviceUnavailable)
            #expect(during.headers[.retryAfter] == "1")
            #expect(waited < .seconds(15), "answered after \(waited)")
            let readyDuring = try await client.execute(uri: "/ready", method: .get)
            #expect(readyDuring.status == .serviceUnavailable)

            try await moto.start()  // moto keeps nothing in memory across restarts
            try await createTable()
            let after = try await client.postMessage(Self.payload(order: "QO-OUT", id: "MSG-2", text: "after"))
            #expect(after.status == .ok)
            let readyAfter = try await client.execute(uri: "/ready", method: .get)
            #expect(readyAfter.status == .ok)
        }
    }
}

/// The messages a load test got a 200 for: "worker/sequence" → the text sent.
final class Acknowledged: Sendable {
    private let texts = Mutex<[String: String]>([:])

    func record(_ key: String, _ text: String) { texts.withLock { $0[key] = text } }

    var all: [String: String] { texts.withLock { $0 } }

    var count: Int { texts.withLock { $0.count } }
}
