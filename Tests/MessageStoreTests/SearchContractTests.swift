import Foundation
import MessageStore
import StoreTestSupport
import Testing

/// Search, on every store: the matching rules, text typed as hostile input, the filters, the
/// window, pages, and the same results from both stores for the same messages.
///
/// Messages are stored "now" (their `storedAt` a few seconds apart, newest last), because the
/// DynamoDB store searches without an order through the change feed, which keeps recent events.
@Suite struct SearchContractTests {
    /// A few seconds ago, as Unix seconds: the newest message's `storedAt`.
    static let now = Int64(Date().timeIntervalSince1970)

    /// A message stored `secondsAgo` before ``now``.
    static func message(
        _ id: String, order: String = "QO-1", type: MessageType = .received, text: String, from: String = "Jane Doe",
        orderNumber: String? = nil, attachments: [String] = [], secondsAgo: Int64 = 0, timestamp: Int64 = 1_000
    ) -> StoredMessage {
        StoredMessage(
            orderID: order, messageID: id, messageType: type, fromName: from, text: text, createdDate: "2025-10-28T10:30:00Z",
            read: false, timestamp: timestamp, storedAt: ISO8601.string(fromUnixMilliseconds: (now - secondsAgo) * 1000),
            orderNumber: orderNumber,
            attachments: attachments.isEmpty ? nil : attachments.enumerated().map {
                Attachment(id: "ATT-\($0.offset)", name: $0.element, url: "https://example.com/\($0.offset)")
            }
        )
    }

    /// The stores' options: DynamoDB on the search suites' own moto (see ``MotoServer/searchEndpoint``).
    static let options = StoreUnderTest.Options(dynamoDBEndpoint: MotoServer.searchEndpoint)

    /// The window that holds every message of these tests.
    static let window = SearchWindow(from: now - 600, to: now + 60)

    /// Every result of `text` (following pages of `limit`), as `order/SK`.
    static func search(
        _ store: any MessageStore, _ text: String, order: String? = nil, type: MessageType? = nil, window: SearchWindow? = window,
        limit: Int = 100
    ) async throws -> [String] {
        var results: [String] = []
        var after: SearchPosition?
        for _ in 0..<1000 {
            let request = SearchRequest(query: try SearchQuery(parsing: text), orderID: order, messageType: type, window: window, after: after, limit: limit)
            let page = try await store.search(request)
            #expect(page.items.count <= limit)
            results += page.items.map { "\($0.orderID)/\($0.sortKey)" }
            guard let next = page.next else { return results }
            after = next
        }
        Issue.record("the pages never ended")
        return results
    }

    /// The corpus most tests search: four messages of two orders, newest last.
    static let corpus: [StoredMessage] = [
        message("M-1", order: "QO-1", text: "Closing is scheduled for Friday at 10am.", from: "Escrow Officer", orderNumber: "ORD-2025-001", secondsAgo: 40),
        message("M-2", order: "QO-1", type: .sent, text: "Wire of $1,250.00 received. Thank you!", from: "John Smith", secondsAgo: 30),
        message("M-3", order: "QO-2", text: "Please sign the deed (page 2) -- urgent*", from: "María Núñez", orderNumber: "ORD-2025-002",
                attachments: ["Wire-Instructions.pdf", "deed_final.docx"], secondsAgo: 20),
        message("M-4", order: "QO-2", text: "ÉCOLE straße ΑΘΗΝΑ 東京タワー 😀 tab\there\nnew line", secondsAgo: 10),
    ]

    static func storeCorpus(_ store: any MessageStore) async throws {
        for message in corpus { _ = try await store.store(message) }
    }

    @Test(arguments: StoreUnderTest.available)
    func wordsPrefixesSubstringsAndPhrasesMatchIgnoringCase(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            try await Self.storeCorpus(store)
            #expect(try await Self.search(store, "closing") == ["QO-1/message.received#M-1"])
            #expect(try await Self.search(store, "clos") == ["QO-1/message.received#M-1"], "a prefix")
            #expect(try await Self.search(store, "HEDUL") == ["QO-1/message.received#M-1"], "a substring, any case")
            #expect(try await Self.search(store, "wire") == ["QO-2/message.received#M-3", "QO-1/message.sent#M-2"], "text or an attachment's name, newest first")
            #expect(try await Self.search(store, "\"for friday\"") == ["QO-1/message.received#M-1"])
            #expect(try await Self.search(store, "\"friday for\"").isEmpty, "a phrase keeps its order")
            #expect(try await Self.search(store, "friday scheduled") == ["QO-1/message.received#M-1"], "words in any order")
            #expect(try await Self.search(store, "friday wire").isEmpty, "every word must match")
            #expect(try await Self.search(store, "smith") == ["QO-1/message.sent#M-2"], "the sender's name")
            #expect(try await Self.search(store, "ORD-2025-002") == ["QO-2/message.received#M-3"], "the order number")
            #expect(try await Self.search(store, "docx") == ["QO-2/message.received#M-3"], "an attachment's name")
            #expect(try await Self.search(store, "$1,250.00") == ["QO-1/message.sent#M-2"])
            #expect(try await Self.search(store, "wire of") == ["QO-1/message.sent#M-2"], "a two-letter word is matched too")
            #expect(try await Self.search(store, "wire zz").isEmpty)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func textBeyondASCIIMatchesScalarByScalarIgnoringCase(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            try await Self.storeCorpus(store)
            #expect(try await Self.search(store, "école") == ["QO-2/message.received#M-4"])
            #expect(try await Self.search(store, "STRASSE").isEmpty, "ß is not ss: scalars are compared")
            #expect(try await Self.search(store, "straße") == ["QO-2/message.received#M-4"])
            #expect(try await Self.search(store, "αθηνα") == ["QO-2/message.received#M-4"])
            #expect(try await Self.search(store, "東京タ") == ["QO-2/message.received#M-4"])
            #expect(try await Self.search(store, "núñez") == ["QO-2/message.received#M-3"])
            #expect(try await Self.search(store, "😀 tab") == ["QO-2/message.received#M-4"])
            #expect(try await Self.search(store, "\"tab here\"").isEmpty, "a phrase's space is a space, not a tab")
        }
    }

    /// What a user types is never query syntax: FTS5's operators, column filters and quotes
    /// are text, and text that holds them is found by them.
    @Test(arguments: StoreUnderTest.available)
    func operatorsAndPunctuationAreTextToLookFor(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            try await Self.storeCorpus(store)
            #expect(try await Self.search(store, "urgent*") == ["QO-2/message.received#M-3"])
            #expect(try await Self.search(store, "(page 2)") == ["QO-2/message.received#M-3"])
            #expect(try await Self.search(store, "-- deed") == ["QO-2/message.received#M-3"])
            #expect(try await Self.search(store, "deed -urgent").isEmpty, "a minus is not NOT: \"-urgent\" is not in the text")
            #expect(try await Self.search(store, "deed OR closing").isEmpty, "OR is a word to find")
            #expect(try await Self.search(store, "deed AND sign").isEmpty, "AND is a word to find")
            #expect(try await Self.search(store, "NEAR(deed sign)").isEmpty)
            #expect(try await Self.search(store, "text:deed").isEmpty, "not a column filter")
            #expect(try await Self.search(store, "^Please") == [])
            #expect(try await Self.search(store, "\"sign the") == ["QO-2/message.received#M-3"], "an unmatched quote runs to the end")
            #expect(try await Self.search(store, "{deed}").isEmpty)
            for hostile in ["\"\"\"deed", "deed\"\"", "dee\"d\"eed", "deed'; DROP TABLE messages; --", "deed*)", "(((deed", "deed NOT", "*deed*"] {
                _ = try await Self.search(store, hostile)
            }
            #expect(try await Self.search(store, "deed").count == 1, "the hostile queries changed nothing")
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func anUpdatedMessageIsFoundByItsNewTextOnlyAndReadChangesNothing(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            _ = try await store.store(Self.message("M-1", text: "original wording about escrow", secondsAgo: 20, timestamp: 1_000))
            _ = try await store.store(Self.message("M-2", text: "another escrow note", secondsAgo: 15))
            #expect(try await Self.search(store, "original") == ["QO-1/message.received#M-1"])
            _ = try await store.store(Self.message("M-1", text: "revised wording about escrow", secondsAgo: 5, timestamp: 2_000))
            #expect(try await Self.search(store, "original").isEmpty)
            #expect(try await Self.search(store, "revised") == ["QO-1/message.received#M-1"])
            #expect(try await Self.search(store, "escrow") == ["QO-1/message.received#M-1", "QO-1/message.received#M-2"], "the new version is the newer")
            _ = try await store.store(Self.message("M-1", text: "stale wording about escrow", secondsAgo: 1, timestamp: 1_500))
            #expect(try await Self.search(store, "stale").isEmpty, "a stale delivery is not indexed")

            let key = MessageKey(orderID: "QO-1", messageType: .received, messageID: "M-1")
            _ = try await store.setRead(true, of: key, at: 5_000)
            let page = try await store.search(SearchRequest(query: try SearchQuery(parsing: "escrow"), window: Self.window, limit: 10))
            #expect(page.items.map(\.messageID) == ["M-1", "M-2"])
            #expect(page.items.first?.read == true, "results are the messages as stored now")
            #expect(page.items.first == (try await store.message(key)))
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func filtersByOrderTypeAndWindow(_ kind: StoreUnderTest) async throws {
        try await withStore(kind, options: Self.options) { store in
            try await Self.storeCorpus(store)
            #expect(try await Self.search(store, "wire", order: "QO-1") == ["QO-1/message.sent#M-2"])
            #expect(try await Self.search(store, "wire", order: "QO-1", window: nil) == ["QO-1/message.sent#M-2"], "an order needs no window")
            #expect(try await Self.search(store, "wire", type: .received) == ["QO-2/message.received#M-3"])
            #expect(try await Self.search(store, "wire", order: "QO-2", type: .sent).isEmpty)
            #expect(try await Self.search(store, "wire", order: "QO-404").isEmpty)
            let older = SearchWindow(from: Self.now - 600, to: Self.now - 25)
            #expect(try await Self.search(store, "wire", window: older) == ["QO-1/message.sent#M-2"])
            let exact = SearchWindow(from: Self.now - 20, to: Self.now - 20)
            #expect(try await Self.search(store, "wire", window: exact) == ["QO-2/message.received#M-3"], "both ends are included")
            #expect(try await Self.search(store, "wire", order: "QO-1", window: older) == ["QO-1/message.sent#M-2"])
            #expect(try await Self.search(store, "wire", window: SearchWindow(from: Self.now - 19, to: Self.now)).isEmpty)
        }
    }

    /// Pages of every size return every result once, newest first (ties by order and key,
    /// descending), and messages stored between pages do not disturb the pages after.
    @Test(arguments: StoreUnderTest.available, [1, 2, 3, 7])
    func pagesReturnEveryResultOnceInOrder(_ kind: StoreUnderTest, limit: Int) async throws {
        try await withStore(kind, options: Self.options) { store in
            // Ten seconds, three messages in each of some: ties broken by order id, then SK.
            var expected: [String] = []
            for index in 0..<20 {
                let message = Self.message(
                    "M-\(index)", order: "QO-\(index % 3)", type: index % 2 == 0 ? .received : .sent,
                    text: "escrow note \(index)", secondsAgo: 50 - Int64(index / 3) * 5
                )
                _ = try await store.store(message)
                expected.append("\(message.orderID)/\(message.sortKey)|\(message.storedAt)")
            }
            expected.sort { lhs, rhs in
                let (l, r) = (lhs.split(separator: "|"), rhs.split(separator: "|"))
                return l[1] != r[1] ? l[1] > r[1] : l[0] > r[0]
            }
            #expect(try await Self.search(store, "escrow", limit: limit) == expected.map { String($0.split(separator: "|")[0]) })

            // Pages read while more messages arrive: the first pages are kept, the rest follow.
            var seen: [String] = []
            var after: SearchPosition?
            var added = 0
            repeat {
                let page = try await store.search(SearchRequest(query: try SearchQuery(parsing: "escrow"), window: Self.window, after: after, limit: limit))
                seen += page.items.map { "\($0.orderID)/\($0.sortKey)" }
                after = page.next
                if added < 3 {
                    _ = try await store.store(Self.message("N-\(added)", order: "QO-9", text: "escrow newcomer", secondsAgo: 0))
                    added += 1
                }
            } while after != nil
            #expect(seen == expected.map { String($0.split(separator: "|")[0]) }, "results newer than the first page do not appear later")
        }
    }

    /// The same messages and the same queries give the same results, in the same order, on
    /// every store.
    @Test func everyStoreGivesTheSameResults() async throws {
        guard StoreUnderTest.available.count > 1 else { return }
        var answers: [StoreUnderTest: [[String]]] = [:]
        let queries = [
            "wire", "clos", "\"wire of\"", "deed page", "ord-2025", "école", "smith", "e 2 note", "pdf", "urgent*", "-- (page",
            "zzz", "jane", "doe 東京", "thank you", "\"friday at 10am.\"", "ΑΘΗ", "sign\"", "note",
        ]
        for kind in StoreUnderTest.available {
            try await withStore(kind, options: Self.options) { store in
                try await Self.storeCorpus(store)
                for index in 0..<12 {
                    _ = try await store.store(Self.message("X-\(index)", order: "QO-\(index % 4)", type: index % 3 == 0 ? .sent : .received,
                        text: "note \(index) about the wire and the deed", from: index % 2 == 0 ? "Jane Doe" : "Bob", secondsAgo: Int64(index % 5)))
                }
                var results: [[String]] = []
                for query in queries {
                    for limit in [2, 100] {
                        results.append(try await Self.search(store, query, limit: limit))
                        results.append(try await Self.search(store, query, order: "QO-2", window: nil, limit: limit))
                    }
                    results.append(try await Self.search(store, query, type: .sent))
                }
                answers[kind] = results
            }
        }
        let stores = StoreUnderTest.available
        #expect(answers[stores[0]] == answers[stores[1]])
        #expect(answers[stores[0]]?.contains { !$0.isEmpty } == true)
    }
}
