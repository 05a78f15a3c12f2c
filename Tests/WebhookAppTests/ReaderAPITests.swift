import Foundation
import HTTPTypes
import HummingbirdTesting
import MessageStore
import NIOCore
import StoreTestSupport
import Synchronization
import Testing

@testable import WebhookApp

let readerCredentials = BasicCredentials(username: "escrow_reader", password: "reader_pass")
let readerAuthorization = basicAuthorization(readerCredentials.username, readerCredentials.password)

/// A payload for the reader tests: the spec's example with its identity, time and text set.
func readerPayload(
    order: String = "QO-READ", id: String, type: String = "message.received", timestamp: String = "2025-10-28T10:30:00Z",
    text: String = "text", read: Bool = false, thread: String? = nil, inReplyTo: String? = nil
) -> [String: Any] {
    var payload = specExample()
    payload["order_id"] = order
    payload["message_id"] = id
    payload["message_type"] = type
    payload["timestamp"] = timestamp
    payload["text"] = text
    payload["read"] = read
    if let thread { payload["thread_id"] = thread }
    if let inReplyTo { payload["in_reply_to"] = inReplyTo }
    return payload
}

/// An ISO 8601 time `seconds` after 2025-10-28T10:30:00Z.
func payloadTime(_ seconds: Int) -> String {
    ISO8601.string(fromUnixMilliseconds: 1_761_647_400_000 + Int64(seconds) * 1000)
}

extension TestClientProtocol {
    /// GETs a path under `/webhook` with reader credentials unless others are given, and
    /// returns the response.
    func read(_ path: String, headers: HTTPFields = readerAuthorization) async throws -> TestResponse {
        try await execute(uri: "/webhook/" + path, method: .get, headers: headers)
    }

    /// PATCHes a message's read status with reader credentials.
    func patchRead(_ path: String, body: String, headers: HTTPFields = readerAuthorization) async throws -> TestResponse {
        try await execute(uri: "/webhook/messages/" + path, method: .patch, headers: headers, body: ByteBuffer(string: body))
    }

    /// Follows `next_cursor` from `path` (which has its own query) to the end; returns each page's items.
    func followPages(_ path: String, items key: String, between: () async throws -> Void = {}) async throws -> [[[String: Any]]] {
        var pages: [[[String: Any]]] = []
        var cursor: String?
        repeat {
            let separator = path.contains("?") ? "&" : "?"
            let uri = cursor.map { path + separator + "cursor=" + $0 } ?? path
            let response = try await read(uri)
            #expect(response.status == .ok, "\(uri): \(response.text)")
            let body = try response.json()
            pages.append(try #require(body[key] as? [[String: Any]]))
            cursor = body["next_cursor"] as? String
            #expect(body.keys.contains("next_cursor"))
            try await between()
        } while cursor != nil && pages.count < 1000
        return pages
    }
}

func withReaderService(
    _ kind: StoreUnderTest, options: StoreUnderTest.Options = .init(),
    _ body: @escaping @Sendable (any TestClientProtocol, any MessageStore) async throws -> Void
) async throws {
    try await withService(kind, options: options, configure: { $0.auth.readerCredentials = readerCredentials }) { client, store, _ in
        try await body(client, store)
    }
}

/// Reader credentials, and what each role may do.
@Suite struct ReaderAccessTests {
    @Test(arguments: StoreUnderTest.available)
    func aReaderReadsAndMarksButNeverDelivers(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind) { client, _ in
            #expect(try await client.postMessage(readerPayload(id: "MSG-1")).status == .ok)
            let refused = try await client.postMessage(readerPayload(id: "MSG-2"), headers: readerAuthorization)
            #expect(refused.status == .forbidden)
            #expect(try refused.json()["error"] as? String == "forbidden")
            #expect(try await client.getMessages("QO-READ").json()["count"] as? Int == 1, "the refused POST stored nothing")

            #expect(try await client.read("messages/QO-READ").status == .ok)
            #expect(try await client.read("messages/QO-READ/message.received/MSG-1").status == .ok)
            #expect(try await client.read("orders").status == .ok)
            #expect(try await client.read("orders/QO-READ/conversation").status == .ok)
            #expect(try await client.read("orders/QO-READ/threads").status == .ok)
            #expect(try await client.patchRead("QO-READ/message.received/MSG-1", body: #"{"read":true}"#).status == .ok)
            // The webhook credentials keep every right.
            #expect(try await client.patchRead("QO-READ/message.received/MSG-1", body: #"{"read":false}"#, headers: validAuthorization).status == .ok)
            #expect(try await client.read("orders", headers: validAuthorization).status == .ok)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func wrongReaderCredentialsAreRefused(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind) { client, _ in
            let wrong = try await client.read("orders", headers: basicAuthorization(readerCredentials.username, "nope"))
            #expect(wrong.status == .unauthorized)
            let lookAlike = try await client.read("orders", headers: basicAuthorization("escrow_reader\u{301}", readerCredentials.password))
            #expect(lookAlike.status == .unauthorized)
            let noCredentials = try await client.execute(uri: "/webhook/orders", method: .get)
            #expect(noCredentials.status == .unauthorized)
        }
    }

    @Test func wrongReaderPasswordsLockTheReaderOutAtThatAddressOnly() async throws {
        try await withService(.sqlite, configure: {
            $0.auth.readerCredentials = readerCredentials
            $0.auth.failureLimit = 3
            $0.auth.clientAddressHeader = "X-Forwarded-For"
        }) { client, _, _ in
            func from(_ address: String, _ headers: HTTPFields) -> HTTPFields {
                var headers = headers
                headers[HTTPField.Name("X-Forwarded-For")!] = address
                return headers
            }
            for _ in 0..<3 {
                let wrong = try await client.read("orders", headers: from("203.0.113.9", basicAuthorization(readerCredentials.username, "guess")))
                #expect(wrong.status == .unauthorized)
            }
            // The same lockout rules as the webhook user: the reader at that address is locked,
            let locked = try await client.read("orders", headers: from("203.0.113.9", readerAuthorization))
            #expect(locked.status == .tooManyRequests)
            // the webhook user at that address and the reader elsewhere are not.
            #expect(try await client.read("orders", headers: from("203.0.113.9", validAuthorization)).status == .ok)
            #expect(try await client.read("orders", headers: from("198.51.100.3", readerAuthorization)).status == .ok)
        }
    }

    @Test func readerCredentialsComeTogetherAndApart() throws {
        let base = ["WEBHOOK_USERNAME": "webhook_user", "WEBHOOK_PASSWORD": "webhook_pass"]
        let both = try AppConfiguration(environment: base.merging(["READER_USERNAME": "r", "READER_PASSWORD": "p"]) { $1 })
        #expect(both.auth.readerCredentials == BasicCredentials(username: "r", password: "p"))
        #expect(try AppConfiguration(environment: base).auth.readerCredentials == nil)
        for partial in [["READER_USERNAME": "r"], ["READER_PASSWORD": "p"]] {
            let error = #expect(throws: ConfigurationError.self) { try AppConfiguration(environment: base.merging(partial) { $1 }) }
            #expect(error?.problems == ["READER_USERNAME and READER_PASSWORD must be set together"])
        }
        let same = #expect(throws: ConfigurationError.self) {
            try AppConfiguration(environment: base.merging(["READER_USERNAME": "webhook_user", "READER_PASSWORD": "p"]) { $1 })
        }
        #expect(same?.problems.first?.hasPrefix("READER_USERNAME must differ") == true)
    }

    @Test func theVerifierTellsTheRoleOfTheMatchedPair() {
        let verifier = CredentialVerifier(granting: [(testCredentials, .webhook), (readerCredentials, .reader)])
        let asReader = verifier.check(username: Array("escrow_reader".utf8), password: Array("reader_pass".utf8))
        #expect(asReader.username?.role == .reader)
        #expect(verifier.verify(username: Array("escrow_reader".utf8), password: Array("reader_pass".utf8)))
        let asWebhook = verifier.check(username: Array("webhook_user".utf8), password: Array("webhook_pass".utf8))
        #expect(asWebhook.username?.role == .webhook)
        #expect(!verifier.verify(username: Array("escrow_reader".utf8), password: Array("webhook_pass".utf8)))
    }
}

/// Pages of an order, and their cursors.
@Suite struct ReaderPageTests {
    @Test(arguments: StoreUnderTest.available)
    func pagesReturnEveryMessageOnceInSKOrder(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind) { client, _ in
            for n in 0..<25 {
                let type = n % 3 == 0 ? "message.sent" : "message.received"
                #expect(try await client.postMessage(readerPayload(id: String(format: "MSG-%02d", n), type: type)).status == .ok)
            }
            let whole = try await client.getMessages("QO-READ").json()
            let wholeKeys = try #require(whole["messages"] as? [[String: Any]]).compactMap { $0["SK"] as? String }
            #expect(whole["next_cursor"] == nil, "without limit and cursor the answer is exactly the spec's")

            let pages = try await client.followPages("messages/QO-READ?limit=10", items: "messages")
            #expect(pages.map(\.count) == [10, 10, 5])
            #expect(pages.flatMap { $0 }.compactMap { $0["SK"] as? String } == wholeKeys)

            let sentPages = try await client.followPages("messages/QO-READ?limit=4&message_type=message.sent", items: "messages")
            #expect(sentPages.map(\.count) == [4, 4, 1])
            #expect(sentPages.flatMap { $0 }.allSatisfy { $0["messageType"] as? String == "message.sent" })

            let exact = try await client.followPages("messages/QO-READ?limit=25", items: "messages")
            #expect(exact.map(\.count) == [25], "a full last page says it is the last")
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func pagesUnderConcurrentWritesReturnEveryEarlierMessageExactlyOnce(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind) { client, _ in
            var before: Set<String> = []
            for n in stride(from: 0, to: 40, by: 2) {
                let id = String(format: "MSG-%03d", n)
                before.insert("message.received#" + id)
                _ = try await client.postMessage(readerPayload(id: id))
            }
            let written = Counter()
            let pages = try await client.followPages("messages/QO-READ?limit=3", items: "messages") {
                // Between pages: new messages before, between and after the cursor, and an update.
                let n = written.next()
                _ = try await client.postMessage(readerPayload(id: String(format: "MSG-%03d", 2 * n + 1)))
                _ = try await client.postMessage(readerPayload(id: String(format: "MSG-Z%03d", n)))
                _ = try await client.postMessage(readerPayload(id: "MSG-000", timestamp: payloadTime(n + 1), text: "edit \(n)"))
            }
            let keys = pages.flatMap { $0 }.compactMap { $0["SK"] as? String }
            #expect(Set(keys).count == keys.count, "no message twice")
            #expect(before.isSubset(of: Set(keys)), "every message that existed throughout")
            #expect(keys == keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aCursorWorksOnlyForItsOwnListing(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind) { client, _ in
            for n in 0..<3 {
                _ = try await client.postMessage(readerPayload(id: "MSG-\(n)"))
                _ = try await client.postMessage(readerPayload(order: "QO-OTHER", id: "MSG-\(n)"))
            }
            let first = try await client.read("messages/QO-READ?limit=1").json()
            let cursor = try #require(first["next_cursor"] as? String)
            #expect(try await client.read("messages/QO-READ?cursor=" + cursor).status == .ok, "cursor alone continues")

            let foreign = [
                "messages/QO-OTHER?limit=1&cursor=" + cursor,
                "messages/QO-READ?limit=1&message_type=message.received&cursor=" + cursor,
                "orders/QO-READ/conversation?cursor=" + cursor,
                "orders?cursor=" + cursor,
            ]
            let orders = try await client.read("orders?limit=1").json()
            let ordersCursor = try #require(orders["next_cursor"] as? String)
            let malformed = [
                "messages/QO-READ?limit=1&cursor=garbage!", "messages/QO-READ?limit=1&cursor=", "messages/QO-READ?limit=1&cursor=e30",
                "messages/QO-READ?limit=1&cursor=" + String(cursor.dropLast(3)),
                "messages/QO-READ?limit=1&cursor=" + ordersCursor,
                "messages/QO-READ?limit=1&cursor=" + Self.cursor(#"{"v":1,"of":"messages","order":"QO-READ","filter":null,"after":["other#MSG-1"]}"#),
                "messages/QO-READ?limit=1&cursor=" + Self.cursor(#"{"v":2,"of":"messages","order":"QO-READ","filter":null,"after":["message.received#MSG-1"]}"#),
                "messages/QO-READ?limit=1&cursor=" + Self.cursor(#"{"v":1,"of":"messages","order":"QO-READ","filter":null,"after":[1]}"#),
                "orders?cursor=" + Self.cursor(#"{"v":1,"of":"orders","order":null,"filter":null,"after":["x","QO-1"]}"#),
                "orders/QO-READ/conversation?cursor=" + Self.cursor(#"{"v":1,"of":"conversation","order":"QO-READ","filter":null,"after":["1","nope"]}"#),
            ]
            for path in foreign + malformed {
                let response = try await client.read(path)
                #expect(response.status == .badRequest, "\(path)")
                #expect(try response.json()["error"] as? String == "invalid_cursor", "\(path): \(response.text)")
            }
            // The same order, spelled with a look-alike: another order, so a foreign cursor.
            let lookAlike = try await client.read("messages/QO-RE%41D?limit=1&cursor=" + cursor)
            #expect(lookAlike.status == .ok, "percent-encoding names the same bytes")
            let kelvin = try await client.read("messages/QO-READ%E2%84%AA?limit=1&cursor=" + cursor)
            #expect(try kelvin.json()["error"] as? String == "invalid_cursor")
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func limitIsAWholeNumberFromOneToAThousand(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind) { client, _ in
            for bad in ["0", "1001", "-1", "abc", "1.5", ""] {
                for path in ["messages/QO-READ?limit=", "orders?limit=", "orders/QO-READ/conversation?limit="] {
                    let response = try await client.read(path + bad)
                    #expect(response.status == .badRequest, "\(path)\(bad)")
                    #expect(try response.errorFields()["limit"] != nil, "\(path)\(bad): \(response.text)")
                }
            }
            #expect(try await client.read("messages/QO-READ?limit=1000").status == .ok)
        }
    }

    /// base64url of a JSON text, as a cursor is made.
    static func cursor(_ json: String) -> String {
        Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// Counts calls, for closures that must not capture a `var`.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func next() -> Int { value.add(1, ordering: .relaxed).oldValue }
}
