import Foundation
import Logging
import MessageStore
import StoreTestSupport
import Testing

@testable import DynamoDB
@testable import DynamoDBMessageStore

// Search on DynamoDB (docs/dynamodb-search.md), against moto over real HTTP: the window a
// search across orders needs, results read from the change feed (across buckets, by current
// version, page after page exactly once, the same with and without resume hints), and the
// order path.

/// A message as the service stores it now: `storedAt` stamped at the time of the call, or
/// `later` after it.
private func storedNow(
    _ id: String, order: String = "QS-1", type: MessageType = .received, text: String, at timestamp: Int64 = 1_000, later: Duration = .zero
) -> StoredMessage {
    var stored = message(id, at: timestamp, type: type, order: order, text: text)
    stored.storedAt = ISO8601.string(fromUnixMilliseconds: DynamoDBMessageStore.nowMilliseconds() + later.components.seconds * 1000)
    return stored
}

/// The hour around now, in Unix seconds: every message a test stores falls in it.
private func windowAroundNow() -> SearchWindow {
    let now = DynamoDBMessageStore.nowMilliseconds() / 1000
    return SearchWindow(from: now - 3_600, to: now + 3_600)
}

/// The search of `text` across orders within the hour around now.
private func request(_ text: String, limit: Int, type: MessageType? = nil) throws -> SearchRequest {
    SearchRequest(query: try SearchQuery(parsing: text), messageType: type, window: windowAroundNow(), limit: limit)
}

extension MessageStore {
    /// Every page of `request`, following `next`; without hints when `dropHints`, and calling
    /// `betweenPages` after each page that has a next one.
    fileprivate func allSearchPages(
        _ request: SearchRequest, dropHints: Bool = false, betweenPages: () async throws -> Void = {}
    ) async throws -> [[StoredMessage]] {
        var request = request
        var pages: [[StoredMessage]] = []
        while true {
            let page = try await search(request)
            pages.append(page.items)
            #expect(page.items.count <= request.limit)
            guard var next = page.next else { return pages }
            #expect(!page.items.isEmpty, "a page with a next position has results")
            if dropHints { next.resumeHint = nil }
            request.after = next
            try await betweenPages()
            if pages.count > 2_000 {
                Issue.record("pages never end")
                return pages
            }
        }
    }
}

/// Runs `body` with a DynamoDB store on a fresh table whose `Query` pages hold three items, so
/// that a search's walk decides between pages of entries, not after reading them all.
private func withSmallQueryPages(_ body: (DynamoDBMessageStore) async throws -> Void) async throws {
    let (opened, close) = try await StoreUnderTest.dynamodb.open(.init(dynamoDBQueryPageSize: 3, dynamoDBEndpoint: MotoServer.searchEndpoint))
    do {
        try await body(try #require(opened as? DynamoDBMessageStore))
    } catch {
        await close()
        throw error
    }
    await close()
}

/// The keys of messages, in order, to compare results whatever their read status.
private func keys(_ messages: [StoredMessage]) -> [String] {
    messages.map { "\($0.orderID)/\($0.sortKey)" }
}

@Suite(.enabled(if: MotoServer.shouldRun, Comment(rawValue: MotoServer.skipReason)))
struct DynamoDBSearchTests {
    @Test func aSearchWithoutAnOrderNeedsAWindowOfAtMost31DaysWithinRetention() async throws {
        try await FeedFixture.with(endpoint: MotoServer.searchEndpoint) { fixture in
            try await fixture.withStore(retention: FeedRetention(days: 1)) { store in
                let query = try SearchQuery(parsing: "needle")
                let now = DynamoDBMessageStore.nowMilliseconds() / 1000
                let missing = await #expect(throws: SearchWindowRequired.self) {
                    try await store.search(SearchRequest(query: query, limit: 10))
                }
                #expect(missing?.reason.contains("from") == true)
                let long = await #expect(throws: SearchWindowRequired.self) {
                    try await store.search(SearchRequest(query: query, window: SearchWindow(from: now - 32 * 86_400, to: now), limit: 10))
                }
                #expect(long?.reason.contains("31 days") == true)
                let old = await #expect(throws: SearchWindowRequired.self) {
                    try await store.search(SearchRequest(query: query, window: SearchWindow(from: now - 2 * 86_400, to: now - 86_400 - 3_600), limit: 10))
                }
                #expect(old?.reason.contains("1 day,") == true)
                #expect(old?.reason.contains("order_id") == true)
                // A client's extreme values are refused or find nothing, never overflow.
                await #expect(throws: SearchWindowRequired.self) {
                    try await store.search(SearchRequest(query: query, window: SearchWindow(from: .min, to: .max), limit: 10))
                }
                #expect(try await store.search(SearchRequest(query: query, window: SearchWindow(from: .max - 10, to: .max), limit: 10)).items.isEmpty)
                // Within retention, and with an order whatever the window.
                #expect(try await store.search(SearchRequest(query: query, window: SearchWindow(from: now - 3_600, to: now), limit: 10)).items.isEmpty)
                #expect(try await store.search(SearchRequest(query: query, orderID: "QS-1", limit: 10)).items.isEmpty)
            }
        }
    }

    /// Results on both sides of a bucket boundary (a thousand slots). Filling a bucket with a
    /// thousand stored messages takes moto minutes: it copies the whole table for each item of
    /// each transaction, so writes slow down as the table grows (1,100 bare three-item
    /// transactions took 90 s alone; the store's writes here passed a 60 s deadline). So the
    /// messages are real writes, and the thousand slots between them are numbers allocated
    /// and closed by the store's own code for an abandoned write (`FeedSequenceCounter.allocate`,
    /// then `writeTombstone`, as a writer whose transaction was cancelled does), which moto
    /// writes with plain, cheap calls. Two thousand calls at once would slow the suite's shared
    /// moto for every other test (a transaction of another suite passed its 20 s deadline in
    /// CI), so this test has a moto of its own.
    @Test func resultsComeFromTheFeedAcrossBucketsNewestFirstEachOnce() async throws {
        try await MotoServer.withOwnServer { endpoint in try await Self.resultsAcrossBuckets(endpoint: endpoint) }
    }

    private static func resultsAcrossBuckets(endpoint: String) async throws {
        try await FeedFixture.with(endpoint: endpoint) { fixture in
            try await fixture.withStore { store in
                var needles: [StoredMessage] = []
                func write(_ index: Int) async throws {
                    let needle = storedNow("N-\(index)", order: "QB-\(index % 3)", text: "a haystack with the needle \(index)")
                    #expect(try await store.store(needle) == .created)
                    #expect(try await store.store(storedNow("H-\(index)", order: "QB-H", text: "only hay")) == .created)
                    needles.append(needle)
                }
                for index in 0..<4 { try await write(index) }
                let abandoned = 1_000
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<8 {
                        group.addTask {
                            for _ in 0..<(abandoned / 8) {
                                let sequence = try await FeedSequenceCounter.allocate(in: fixture.table, client: fixture.client)
                                _ = try await store.writeTombstone(sequence)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                for index in 4..<9 { try await write(index) }
                // An update moves a bucket-0 needle up, found by its bucket-1 entry only.
                var moved = needles[1]
                moved.timestamp += 1
                moved.text = "the needle, moved"
                moved.storedAt = ISO8601.string(fromUnixMilliseconds: DynamoDBMessageStore.nowMilliseconds())
                #expect(try await store.store(moved) == .updated)
                needles[1] = moved
                // Numbers were taken past the first bucket (the counter: the feed's settled end may
                // stop short at a slot that a write lost under load and no reader has closed yet).
                let last = try await FeedSequenceCounter.last(in: fixture.table, client: fixture.client)
                #expect(last >= Int64(8 + abandoned + 10 + 1) && FeedEntryItem.bucket(of: last) >= 1, "the feed spans two buckets")
                let expected = needles.sorted { SearchPosition(of: $0).precedes(SearchPosition(of: $1)) }

                let whole = try await store.search(try request("needle", limit: 100))
                #expect(whole.items == expected)
                #expect(whole.next == nil)
                let paged = try await store.allSearchPages(try request("NEEDLE", limit: 2))
                #expect(paged.flatMap { $0 } == expected)
                let unhinted = try await store.allSearchPages(try request("needle", limit: 2), dropHints: true)
                #expect(unhinted == paged, "resume hints only shorten the reading")
                #expect(try await store.search(try request("haystack", limit: 100)).items.count == 8, "the moved needle's old text is gone")
            }
        }
    }

    @Test func anUpdatedMessageIsFoundByItsNewTextOnlyAndReadingItChangesNothingElse() async throws {
        try await FeedFixture.with(endpoint: MotoServer.searchEndpoint) { fixture in
            try await fixture.withStore { store in
                let original = storedNow("U-1", text: "alpha original words", at: 1_000)
                let other = storedNow("U-2", order: "QS-2", text: "alpha unrelated", at: 1_000)
                let revised = storedNow("U-1", text: "bravo revised words", at: 2_000)
                #expect(try await store.store(original) == .created)
                #expect(try await store.store(other) == .created)
                #expect(try await store.store(revised) == .updated)

                #expect(try await store.search(try request("alpha", limit: 10)).items == [other])
                #expect(try await store.search(try request("bravo", limit: 10)).items == [revised])
                let read = try #require(try await store.setRead(true, of: revised.key, at: 5_000))
                #expect(try await store.search(try request("bravo", limit: 10)).items == [read], "found once, as it is now")
                #expect(try await store.search(try request("alpha", limit: 10)).items == [other])
                #expect(try await store.allSearchPages(try request("words", limit: 1)) == [[read]])
                #expect(try await store.allSearchPages(try request("alpha", limit: 1)) == [[other]])
            }
        }
    }

    @Test(arguments: [1, 2, 5])
    func pagesReturnEveryResultExactlyOnceWhileMessagesAreStored(limit: Int) async throws {
        // Small Query pages: entries of one second are read over several, in an order that is
        // not the results' (their orders cycle), so a page must wait for all of them.
        try await withSmallQueryPages { store in
            var stored: [StoredMessage] = []
            for index in 0..<14 {
                let text = index.isMultiple(of: 4) ? "nothing here \(index)" : "a matching note \(index)"
                stored.append(storedNow("P-\(index)", order: "QP-\(index % 3)", type: index.isMultiple(of: 2) ? .sent : .received, text: text))
                #expect(try await store.store(stored[index]) == .created)
            }
            let expected = stored.filter { $0.text.contains("matching") }.sorted { SearchPosition(of: $0).precedes(SearchPosition(of: $1)) }
            #expect(try await store.search(try request("matching", limit: 100)).items == expected)
            // Later messages are stored a second later or more: newer than every position.
            try await Task.sleep(for: .milliseconds(1_100))
            var extra = 0
            let pages = try await store.allSearchPages(try request("matching", limit: limit)) {
                extra += 1
                let matching = try await store.store(storedNow("NEW-\(extra)", order: "QP-\(extra % 3)", text: "another matching note"))
                let hay = try await store.store(storedNow("NEW-HAY-\(extra)", text: "plain hay"))
                #expect(matching == .created && hay == .created)
            }
            #expect(pages.flatMap { $0 } == expected)
            #expect(try await store.search(try request("matching", limit: 100)).items.count == 10 + extra, "the new ones are found too")
            // A type narrows the same way.
            let sent = try await store.allSearchPages(try request("matching", limit: limit, type: .sent))
            #expect(sent.flatMap { $0 } == expected.filter { $0.messageType == .sent })
        }
    }

    @Test func pagesAreTheSameWithAndWithoutResumeHints() async throws {
        try await FeedFixture.with(endpoint: MotoServer.searchEndpoint) { fixture in
            try await fixture.withStore { store in
                for index in 0..<17 {
                    let stored = storedNow("H-\(index)", order: "QH-\(index % 4)", text: index.isMultiple(of: 5) ? "hay" : "shared term \(index)")
                    #expect(try await store.store(stored) == .created)
                    if index == 8 { try await Task.sleep(for: .milliseconds(1_100)) }  // two seconds of storedAt
                }
                _ = try await store.setRead(true, of: MessageKey(orderID: "QH-2", messageType: .received, messageID: "H-2"), at: 9_000)
                for limit in [1, 3, 4] {
                    let hinted = try await store.allSearchPages(try request("term", limit: limit))
                    let unhinted = try await store.allSearchPages(try request("term", limit: limit), dropHints: true)
                    #expect(hinted == unhinted)
                    #expect(hinted.flatMap { $0 }.count == 13)
                    #expect(Set(keys(hinted.flatMap { $0 })).count == 13)
                }
            }
        }
    }

    /// A page known before the walk ends: it stops there and the next resumes from its hint.
    /// A result is known once the walk has read entries a minute older than it, so these
    /// messages are stamped two minutes ahead, a second apart in the order they are written (as
    /// if received a while before their writes, in order): every one read is then known at once,
    /// and none read later can come before it. Query pages of three entries make the walk stop
    /// mid-feed.
    @Test(arguments: [1, 2, 3])
    func aPageKnownEarlyStopsTheWalkAndTheNextResumesFromItsHint(limit: Int) async throws {
        try await withSmallQueryPages { store in
            for index in 0..<20 {
                let text = index.isMultiple(of: 3) ? "plain hay" : "a known result \(index)"
                let stored = storedNow("K-\(index)", order: "QK-\(index % 2)", text: text, later: .seconds(120 + index))
                #expect(try await store.store(stored) == .created)
            }
            let expected = try await store.search(try request("known", limit: 100)).items
            #expect(expected.map(\.messageID) == (1..<20).reversed().filter { !$0.isMultiple(of: 3) }.map { "K-\($0)" })
            let first = try await store.search(try request("known", limit: limit))
            #expect(first.next?.resumeHint != nil)
            let hinted = try await store.allSearchPages(try request("known", limit: limit))
            let unhinted = try await store.allSearchPages(try request("known", limit: limit), dropHints: true)
            #expect(hinted.flatMap { $0 } == expected)
            #expect(unhinted == hinted)
        }
    }

    @Test func aSearchOfOneOrderReadsItsPartitionWithoutAWindow() async throws {
        try await FeedFixture.with(endpoint: MotoServer.searchEndpoint) { fixture in
            try await fixture.withStore { store in
                let mine = [
                    storedNow("O-1", order: "QO-A", text: "closing disclosure ready"),
                    storedNow("O-2", order: "QO-A", type: .sent, text: "Closing date moved"),
                    storedNow("O-3", order: "QO-A", text: "wire instructions"),
                ]
                for stored in mine { #expect(try await store.store(stored) == .created) }
                #expect(try await store.store(storedNow("O-4", order: "QO-B", text: "closing elsewhere")) == .created)
                let query = try SearchQuery(parsing: "clos")
                let all = try await store.allSearchPages(SearchRequest(query: query, orderID: "QO-A", limit: 1))
                #expect(all.flatMap { $0 } == [mine[1], mine[0]], "same second: by sort key, descending")
                let sent = try await store.search(SearchRequest(query: query, orderID: "QO-A", messageType: .sent, limit: 10))
                #expect(sent.items == [mine[1]])
                let now = DynamoDBMessageStore.nowMilliseconds() / 1000
                let before = try await store.search(SearchRequest(query: query, orderID: "QO-A", window: SearchWindow(from: 0, to: now - 3_600), limit: 10))
                #expect(before.items.isEmpty, "a window applies with an order too, however old")
            }
        }
    }

    @Test func theWalkStartsAtTheLastEntryStampedBeforeTheWindowEnds() async throws {
        try await FeedFixture.with(endpoint: MotoServer.searchEndpoint) { fixture in
            try await fixture.withStore { store in
                for index in 0..<5 { #expect(try await store.store(storedNow("S-\(index)", text: "early \(index)")) == .created) }
                try await Task.sleep(for: .milliseconds(50))
                let between = DynamoDBMessageStore.nowMilliseconds()
                try await Task.sleep(for: .milliseconds(50))
                for index in 5..<8 { #expect(try await store.store(storedNow("S-\(index)", text: "late \(index)")) == .created) }
                var cost = SearchReadCost()
                #expect(try await store.newestSequence(notAfter: between, last: 8, cost: &cost) == 5)
                #expect(try await store.newestSequence(notAfter: 0, last: 8, cost: &cost) == 0)
                #expect(try await store.newestSequence(notAfter: .max, last: 8, cost: &cost) == 8)
                #expect(cost.queries <= 12, "a few probes, by halves")
            }
        }
    }
}

/// The read units a search logs, counted as DynamoDB bills strongly consistent reads.
struct SearchReadCostTests {
    @Test func readUnitsAreOnePer4KBRoundedUpAndAtLeastOne() {
        #expect(SearchReadCost.readUnits(for: 0) == 1)
        #expect(SearchReadCost.readUnits(for: 4_096) == 1)
        #expect(SearchReadCost.readUnits(for: 4_097) == 2)
        #expect(SearchReadCost.readUnits(for: 28_000_000) == 6_836)
    }

    @Test func aQueryPageIsBilledOnItsSummedSizeAndAGetItemOnItsItem() {
        let item: Item = ["PK": .string("FEED#0"), "text": .string(String(repeating: "x", count: 1_500))]
        let size = SearchReadCost.size(of: item)
        #expect(size == 2 + 6 + 4 + 1_500)
        var cost = SearchReadCost()
        cost.countQuery([item, item])  // 3,024 bytes: one unit for the page, not two
        cost.countGetItem(item)
        cost.countGetItem(nil)
        #expect(cost.queries == 1 && cost.getItems == 2 && cost.items == 3)
        #expect(cost.bytes == 3 * size)
        #expect(cost.readUnits == 3)
    }
}
