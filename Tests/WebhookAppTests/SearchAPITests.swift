import Foundation
import HTTPTypes
import HummingbirdTesting
import MessageStore
import NIOCore
import StoreTestSupport
import Testing

@testable import WebhookApp

/// `GET /webhook/search` over HTTP, on every store: what a result looks like, that a message
/// is found as soon as its POST is answered, every refusal's code, pages, and hostile queries.
@Suite struct SearchAPITests {
    /// DynamoDB on the search suites' own moto (see ``MotoServer/searchEndpoint``).
    static let options = StoreUnderTest.Options(dynamoDBEndpoint: MotoServer.searchEndpoint)

    /// A window that holds everything these tests store (the DynamoDB store needs one).
    static func window() -> String {
        let now = UnixTime.nowMilliseconds()
        let from = ISO8601.string(fromUnixMilliseconds: now - 600_000)
        return "from=" + (from.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? from)
    }

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    @Test(arguments: StoreUnderTest.available)
    func aMessageIsFoundAsSoonAsItsPostIsAnswered(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind, options: Self.options) { client, _ in
            let text = "Wire of $1,250.00 received <img src=x onerror=alert(1)> for the closing on Friday."
            #expect(try await client.postMessage(readerPayload(order: "QO-S1", id: "MSG-1", text: text)).status == .ok)
            let response = try await client.read("search?q=\(Self.encoded("WIRE \"<img src\""))&\(Self.window())")
            #expect(response.status == .ok, "\(response.text)")
            let body = try response.json()
            let results = try #require(body["results"] as? [[String: Any]])
            #expect(results.count == 1)
            #expect(body.keys.contains("next_cursor") && body["next_cursor"] is NSNull)
            let result = try #require(results.first)
            #expect(result["order_id"] as? String == "QO-S1")
            #expect(result["message_type"] as? String == "message.received")
            #expect(result["message_id"] as? String == "MSG-1")
            #expect(result["timestamp"] as? Int == 1_761_647_400_000)
            #expect(result["from_name"] as? String == "John Smith")
            let stored = try await client.read("messages/QO-S1/message.received/MSG-1").json()["message"] as? [String: Any]
            #expect((result["message"] as? NSDictionary) == (stored as NSDictionary?), "the result holds the message as stored")

            // The snippet: plain-text parts, the matches marked, the HTML as the characters it is.
            let snippet = try #require(result["snippet"] as? [String: Any])
            #expect(snippet["field"] as? String == "text")
            let parts = try #require(snippet["parts"] as? [[String: Any]])
            #expect(parts.compactMap { $0["text"] as? String }.joined() == text)
            #expect(parts.filter { $0["match"] as? Bool == true }.compactMap { $0["text"] as? String } == ["Wire", "<img src"])
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func refusalsSayWhatIsWrong(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind, options: Self.options) { client, _ in
            func error(_ query: String) async throws -> (HTTPResponse.Status, String?, [String]) {
                let response = try await client.read("search?" + query)
                let body = try response.json()
                let fields = (body["fields"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []
                return (response.status, body["error"] as? String, fields)
            }
            let window = Self.window()
            for query in ["", "q=", "q=ab", "q=%22%22", "q=a%20b%20c", "q=wire%00x", "q=wire%1B", "q=" + String(repeating: "a", count: 257)] {
                let (status, code, _) = try await error(query + "&" + window)
                #expect(status == .badRequest && code == "invalid_query", "\(query)")
            }
            let many = (0..<17).map { "word\($0)" }.joined(separator: "%20")
            #expect(try await error("q=\(many)&\(window)").1 == "invalid_query")

            let (status, code, fields) = try await error("q=wire&message_type=x&from=yesterday&to=2025-13-01T00:00:00Z&limit=101")
            #expect(status == .badRequest && code == "validation_failed")
            #expect(Set(fields) == ["message_type", "from", "to", "limit"])
            #expect(try await error("q=wire&from=2025-10-29T00:00:00Z&to=2025-10-28T00:00:00Z").2 == ["from"])
            #expect(try await error("q=wire&limit=0&\(window)").2 == ["limit"])
            #expect(try await error("q=wire&cursor=nope&\(window)").1 == "invalid_cursor")
            // Another listing's cursor is not a search cursor.
            let feedCursor = ReaderCursor.feed(after: FeedPosition(sequence: 1, time: 1)).text
            #expect(try await error("q=wire&cursor=\(feedCursor)&\(window)").1 == "invalid_cursor")

            // Without an order: DynamoDB needs a window, of at most 31 days; SQLite does not.
            let unwindowed = try await error("q=wire")
            let wide = try await error("q=wire&from=2020-01-01T00:00:00Z")
            switch kind {
            case .sqlite:
                #expect(unwindowed.0 == .ok && wide.0 == .ok)
            case .dynamodb:
                #expect(unwindowed.0 == .badRequest && unwindowed.1 == "window_required")
                #expect(wide.0 == .badRequest && wide.1 == "window_required")
                #expect(try await error("q=wire&order_id=QO-1").0 == .ok, "an order needs no window")
            }
            let anonymous = try await client.execute(uri: "/webhook/search?q=wire", method: .get)
            #expect(anonymous.status == .unauthorized)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func cursorsPageThroughEveryResultOnce(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind, options: Self.options) { client, _ in
            for index in 0..<7 {
                let payload = readerPayload(order: "QO-P\(index % 2)", id: "MSG-\(index)", type: index % 3 == 0 ? "message.sent" : "message.received",
                                            text: "escrow update \(index)")
                #expect(try await client.postMessage(payload).status == .ok)
            }
            let pages = try await client.followPages("search?q=escrow&limit=2&\(Self.window())", items: "results")
            let ids = pages.flatMap { $0.compactMap { $0["message_id"] as? String } }
            #expect(ids.count == 7 && Set(ids).count == 7)
            #expect(pages.dropLast().allSatisfy { $0.count == 2 })
            let sent = try await client.followPages("search?q=escrow&limit=1&message_type=message.sent&order_id=QO-P0", items: "results")
            #expect(sent.flatMap { $0.compactMap { $0["message_id"] as? String } }.sorted() == ["MSG-0", "MSG-6"])
            // A cursor is bound to its order and type.
            let first = try await client.read("search?q=escrow&limit=1&order_id=QO-P0").json()
            let cursor = try #require(first["next_cursor"] as? String)
            #expect(try await client.read("search?q=escrow&limit=1&order_id=QO-P1&cursor=\(cursor)").status == .badRequest)
        }
    }

    /// Whatever is typed: a page or `400 invalid_query`, never a 500, never another error.
    @Test(arguments: StoreUnderTest.available)
    func hostileQueriesAreAnsweredAsTextOrRefused(_ kind: StoreUnderTest) async throws {
        let seed = BodyFuzzer.seed
        try await withReaderService(kind, options: Self.options) { client, _ in
            #expect(try await client.postMessage(readerPayload(order: "QO-F", id: "MSG-1", text: "NEAR(a b) -x \"q\" * AND OR ^c col:umn {x}")).status == .ok)
            var random = SeededGenerator(seed: seed)
            let pieces = ["NEAR", "(", ")", "\"", "*", "-", "AND", "OR", "NOT", "^", ":", "{", "}", "col", "text:", "a", "bc", "def", " ", "\t",
                          "\n", "\u{0}", "\u{7F}", "é", "e\u{301}", "😀", "'", ";", "\\", "%", "+", "near/3", "\u{202E}", "\u{FFFF}"]
            let rounds = kind == .sqlite ? 400 : 60
            for _ in 0..<rounds {
                let count = Int.random(in: 0...12, using: &random)
                let query = (0..<count).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &random)] }.joined()
                let order = Bool.random(using: &random) ? "&order_id=QO-F" : ""
                let response = try await client.read("search?q=\(Self.encoded(query))\(order)&\(Self.window())")
                let code = try response.json()["error"] as? String
                #expect(response.status == .ok || (response.status == .badRequest && code == "invalid_query"),
                        "seed \(seed): \(query.debugDescription) → \(response.status) \(response.text)")
            }
            let found = try await client.read("search?q=\(Self.encoded("NEAR(a \"q\" * col:umn {x}"))&\(Self.window())").json()
            #expect((found["results"] as? [Any])?.count == 1, "operators are found as the text they are")
        }
    }

    /// The benchmark's crash: a long text with matches far apart (past the snippet) is
    /// answered like any other, and the service goes on serving.
    @Test func matchesPastTheSnippetAreAnsweredAndTheServiceGoesOn() async throws {
        try await withReaderService(.sqlite) { client, _ in
            let text = "position " + String(repeating: "x", count: 180) + " position " + String(repeating: "y", count: 300) + " position"
            #expect(try await client.postMessage(readerPayload(order: "QO-LONG", id: "MSG-1", text: text)).status == .ok)
            let response = try await client.read("search?q=osi")
            #expect(response.status == .ok, "\(response.text)")
            let results = try #require(try response.json()["results"] as? [[String: Any]])
            let parts = (results.first?["snippet"] as? [String: Any])?["parts"] as? [[String: Any]] ?? []
            #expect(parts.filter { $0["match"] as? Bool == true }.count == 1, "only the match inside the snippet is marked")
            #expect(try await client.read("orders").status == .ok)
        }
    }
}
