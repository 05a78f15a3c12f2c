import MessageStore
import StoreTestSupport
import Testing

/// What every `MessageStore` must do for readers: pages, one message, read status, the
/// orders list, conversations and threads, whatever the technology behind it.
@Suite struct ReaderContractTests {
    /// The payload timestamp most messages here are built around.
    static let base: Int64 = 1_761_647_400_000

    /// A message of `order` with the fields these tests vary.
    static func message(
        order: String = "QO-1", id: String, type: MessageType = .received, at timestamp: Int64 = base, read: Bool = false,
        thread: String? = nil, orderNumber: String? = nil, text: String? = nil
    ) -> StoredMessage {
        var message = sampleMessage(order: order, id: id, type: type, text: text ?? "text of \(id)")
        message.timestamp = timestamp
        message.read = read
        message.threadID = thread
        message.orderNumber = orderNumber
        return message
    }

    /// Follows `next` from the first page to the last, returning every page.
    static func allPages<Item, Position>(
        _ read: (Position?) async throws -> Page<Item, Position>
    ) async throws -> [Page<Item, Position>] {
        var pages = [try await read(nil)]
        while let next = pages.last?.next, pages.count < 1000 { pages.append(try await read(next)) }
        return pages
    }

    /// The summary an order's messages call for: counts, and the last message (greatest
    /// timestamp, ties by greatest SK, byte order).
    static func expectedSummary(of messages: [StoredMessage], orderNumber: String?) throws -> OrderSummary {
        let last = try #require(
            messages.max { lhs, rhs in
                lhs.timestamp != rhs.timestamp ? lhs.timestamp < rhs.timestamp : lhs.sortKey.utf8.lexicographicallyPrecedes(rhs.sortKey.utf8)
            }
        )
        return OrderSummary(
            orderID: last.orderID, orderNumber: orderNumber, messageCount: messages.count, unreadCount: messages.filter { !$0.read }.count,
            lastMessageAt: last.timestamp, lastMessage: MessagePreview(of: last)
        )
    }

    /// The summary the store lists for `orderID`, read through the whole orders list.
    static func listedSummary(of orderID: String, in store: any MessageStore) async throws -> OrderSummary? {
        let pages = try await allPages { try await store.orders(after: $0, limit: 50, unreadOnly: false) }
        return pages.flatMap(\.items).first { $0.orderID == orderID }
    }

    /// Checks that the listed summary of `orderID` is what its stored messages call for.
    static func expectExactSummary(
        of orderID: String, orderNumber: String?, in store: any MessageStore, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let messages = try await store.messages(forOrder: orderID, type: nil)
        let listed = try await listedSummary(of: orderID, in: store)
        #expect(listed == (try expectedSummary(of: messages, orderNumber: orderNumber)), sourceLocation: sourceLocation)
    }

    // MARK: Pages and single messages

    @Test(arguments: StoreUnderTest.available)
    func pagesSplitAnOrderInSortKeyOrderAndTheLastHasNoNext(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            let received = (1...4).map { Self.message(id: "R-\($0)") }
            let sent = (1...3).map { Self.message(id: "S-\($0)", type: .sent) }
            for message in received + sent + [Self.message(order: "QO-2", id: "R-9")] { _ = try await store.store(message) }
            let all = try await store.messages(forOrder: "QO-1", type: nil)

            let byThree = try await Self.allPages { try await store.page(ofOrder: "QO-1", type: nil, after: $0, limit: 3) }
            #expect(byThree.map(\.items.count) == [3, 3, 1])
            #expect(byThree.flatMap(\.items) == all)
            #expect(byThree.map(\.next) == [all[2].sortKey, all[5].sortKey, nil])

            // A last page that is exactly full says so: no empty page follows.
            let receivedByTwo = try await Self.allPages { try await store.page(ofOrder: "QO-1", type: .received, after: $0, limit: 2) }
            #expect(receivedByTwo.map(\.items.count) == [2, 2])
            #expect(receivedByTwo.flatMap(\.items) == received)
            #expect(receivedByTwo.last?.next == nil)

            let sentByTwo = try await Self.allPages { try await store.page(ofOrder: "QO-1", type: .sent, after: $0, limit: 2) }
            #expect(sentByTwo.flatMap(\.items) == sent)
            #expect(sentByTwo.map(\.items.count) == [2, 1])

            let whole = try await store.page(ofOrder: "QO-1", type: nil, after: nil, limit: 100)
            #expect(whole.items == all && whole.next == nil)
            let empty = try await store.page(ofOrder: "QO-404", type: nil, after: nil, limit: 5)
            #expect(empty.items.isEmpty && empty.next == nil)
            // A position between keys works as well as one that is a key.
            let afterR2 = try await store.page(ofOrder: "QO-1", type: nil, after: "message.received#R-2~", limit: 2)
            #expect(afterR2.items.map(\.messageID) == ["R-3", "R-4"])
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func followingPagesWhileWritesLandReturnsEveryExistingMessageOnce(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            let existing = (0..<60).map { Self.message(id: "M-\(1000 + $0 * 10)") }
            for message in existing { _ = try await store.store(message) }

            let writes = Task {
                for index in 0..<60 {
                    // New messages between, before and after the existing keys, and newer
                    // versions of existing ones.
                    _ = try await store.store(Self.message(id: "M-\(1000 + index * 10 + 5)"))
                    _ = try await store.store(Self.message(id: "M-0\(index)", type: .received))
                    var newer = existing[index]
                    newer.timestamp += 1
                    newer.read = true
                    _ = try await store.store(newer)
                }
            }
            let pages = try await Self.allPages { try await store.page(ofOrder: "QO-1", type: .received, after: $0, limit: 7) }
            try await writes.value

            let ids = pages.flatMap(\.items).map(\.messageID)
            #expect(Set(ids).count == ids.count, "no message is returned twice")
            #expect(Set(existing.map(\.messageID)).isSubset(of: Set(ids)), "every message that existed throughout is returned")
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func oneMessageIsFoundByItsKeyOnly(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            var stored = Self.message(id: "M-1", thread: "T-1")
            stored.inReplyTo = "M-0"
            _ = try await store.store(stored)
            #expect(try await store.message(stored.key) == stored)
            #expect(try await store.message(MessageKey(orderID: "QO-1", messageType: .sent, messageID: "M-1")) == nil)
            #expect(try await store.message(MessageKey(orderID: "QO-2", messageType: .received, messageID: "M-1")) == nil)
            #expect(try await store.message(MessageKey(orderID: "QO-1", messageType: .received, messageID: "M-")) == nil)
        }
    }

    // MARK: Read status

    @Test(arguments: StoreUnderTest.available)
    func aReaderSetsReadBothWaysAndTheCountsFollow(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            let delivered = Self.message(id: "M-1")
            _ = try await store.store(delivered)
            _ = try await store.store(Self.message(id: "M-2"))

            let read = try await store.setRead(true, of: delivered.key, at: Self.base + 1_000)
            var expected = delivered
            expected.read = true
            expected.readUpdatedAt = Self.base + 1_000
            #expect(read == expected)
            #expect(try await store.message(delivered.key) == expected)
            #expect(try await Self.listedSummary(of: "QO-1", in: store)?.unreadCount == 1)

            let unread = try await store.setRead(false, of: delivered.key, at: Self.base + 2_000)
            expected.read = false
            expected.readUpdatedAt = Self.base + 2_000
            #expect(unread == expected)
            #expect(try await Self.listedSummary(of: "QO-1", in: store)?.unreadCount == 2)
            try await Self.expectExactSummary(of: "QO-1", orderNumber: nil, in: store)

            let missing = MessageKey(orderID: "QO-1", messageType: .sent, messageID: "M-1")
            #expect(try await store.setRead(true, of: missing, at: Self.base + 3_000) == nil)
            #expect(try await store.message(missing) == nil)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aReadersStatementLosesToANewerOne(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            let delivered = Self.message(id: "M-1")
            _ = try await store.store(delivered)
            // The delivery stated read = false at its timestamp; an older statement loses.
            #expect(try await store.setRead(true, of: delivered.key, at: Self.base - 1) == delivered)
            #expect(try await store.setRead(true, of: delivered.key, at: Self.base) == delivered)

            let later = try #require(try await store.setRead(true, of: delivered.key, at: Self.base + 10))
            #expect(later.read && later.readUpdatedAt == Self.base + 10)
            #expect(try await store.setRead(false, of: delivered.key, at: Self.base + 5) == later)
            #expect(try await store.message(delivered.key) == later)
            #expect(try await Self.listedSummary(of: "QO-1", in: store)?.unreadCount == 0)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aReadersStatementSurvivesOlderRedeliveriesAndYieldsToNewerOnes(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            let first = Self.message(id: "M-1", orderNumber: "N-1")
            _ = try await store.store(first)
            _ = try await store.setRead(true, of: first.key, at: Self.base + 100)

            // The same version again: a duplicate, even though its read differs now.
            #expect(try await store.store(first) == .duplicate)
            #expect(try await store.message(first.key)?.read == true)

            // A newer version stated at an older time than the reader: the reader's read stays.
            var edited = Self.message(id: "M-1", at: Self.base + 50, orderNumber: "N-1", text: "edited")
            #expect(try await store.store(edited) == .updated)
            edited.read = true
            edited.readUpdatedAt = Self.base + 100
            #expect(try await store.message(first.key) == edited)
            try await Self.expectExactSummary(of: "QO-1", orderNumber: "N-1", in: store)
            #expect(try await Self.listedSummary(of: "QO-1", in: store)?.unreadCount == 0)

            // A version stated after the reader: its read wins, and the reader's time is gone.
            let newest = Self.message(id: "M-1", at: Self.base + 200, orderNumber: "N-1", text: "newest")
            #expect(try await store.store(newest) == .updated)
            #expect(try await store.message(first.key) == newest)
            #expect(try await Self.listedSummary(of: "QO-1", in: store)?.unreadCount == 1)
            try await Self.expectExactSummary(of: "QO-1", orderNumber: "N-1", in: store)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aDeliveryThatFlipsReadCountsAndAnOlderReaderLosesToIt(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            _ = try await store.store(Self.message(id: "M-1"))
            #expect(try await Self.listedSummary(of: "QO-1", in: store)?.unreadCount == 1)
            let readByQualia = Self.message(id: "M-1", at: Self.base + 10, read: true)
            #expect(try await store.store(readByQualia) == .updated)
            #expect(try await Self.listedSummary(of: "QO-1", in: store)?.unreadCount == 0)

            #expect(try await store.setRead(false, of: readByQualia.key, at: Self.base + 5) == readByQualia)
            #expect(try await Self.listedSummary(of: "QO-1", in: store)?.unreadCount == 0)
            let unread = try await store.setRead(false, of: readByQualia.key, at: Self.base + 20)
            #expect(unread?.read == false && unread?.readUpdatedAt == Self.base + 20)
            #expect(try await Self.listedSummary(of: "QO-1", in: store)?.unreadCount == 1)

            // A stale delivery saying read = true changes nothing, counts included.
            #expect(try await store.store(Self.message(id: "M-1", at: Self.base + 1, read: true)) == .stale)
            #expect(try await Self.listedSummary(of: "QO-1", in: store)?.unreadCount == 1)
            try await Self.expectExactSummary(of: "QO-1", orderNumber: nil, in: store)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func racingReadersAndDeliveriesOnSeveralInstancesEndWithTheNewestStatement(_ kind: StoreUnderTest) async throws {
        let (first, openAnother, close) = try await kind.openShared(.racing)
        do {
            let instances = [first, try await openAnother(), try await openAnother()]
            let key = MessageKey(orderID: "QO-1", messageType: .received, messageID: "M-1")
            _ = try await first.store(Self.message(id: "M-1"))
            _ = try await first.store(Self.message(id: "M-2"))

            // Distinct times, so that one statement is the newest: deliveries at even offsets,
            // readers at odd ones, and either may be the newest.
            let deliveries = (1...20).map { step in
                Self.message(id: "M-1", at: Self.base + Int64(step * 2), read: Bool.random(), text: "version \(step)")
            }
            let readers = (0..<Int.random(in: 19...21)).map { step in (read: Bool.random(), at: Self.base + Int64(step * 2 + 1)) }
            let writes = deliveries.map(RacingWrite.delivery) + readers.map { RacingWrite.reader($0.read, at: $0.at) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, write) in writes.shuffled().enumerated() {
                    let instance = instances[index % instances.count]
                    group.addTask {
                        switch write {
                        case .delivery(let message): _ = try await instance.store(message)
                        case .reader(let read, let time): _ = try await instance.setRead(read, of: key, at: time)
                        }
                    }
                }
                try await group.waitForAll()
            }

            let newestDelivery = try #require(deliveries.last)
            let newestReader = try #require(readers.last)
            var expected = newestDelivery
            if newestReader.at > newestDelivery.timestamp {
                expected.read = newestReader.read
                expected.readUpdatedAt = newestReader.at
            }
            for instance in instances { #expect(try await instance.message(key) == expected) }
            let summary = try await Self.listedSummary(of: "QO-1", in: first)
            #expect(summary?.messageCount == 2)
            #expect(summary?.unreadCount == (expected.read ? 1 : 2))
            #expect(summary?.lastMessage.text == expected.text)
        } catch {
            await close()
            throw error
        }
        await close()
    }

    /// A write racing others on one message: a delivery, or a reader's `read` at a time.
    enum RacingWrite: Sendable {
        case delivery(StoredMessage)
        case reader(Bool, at: Int64)
    }

    // MARK: Orders list

    @Test(arguments: StoreUnderTest.available)
    func anOrdersSummaryStaysExactThroughEveryKindOfWrite(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            #expect(try await store.orders(after: nil, limit: 10, unreadOnly: false).items.isEmpty)
            // Created: the last message is the newest, ties by the greatest SK.
            _ = try await store.store(Self.message(id: "M-1", at: Self.base, orderNumber: "N-1"))
            try await Self.expectExactSummary(of: "QO-1", orderNumber: "N-1", in: store)
            _ = try await store.store(Self.message(id: "M-2", type: .sent, at: Self.base + 10))
            _ = try await store.store(Self.message(id: "M-3", at: Self.base + 10, read: true))
            // The last message (sent#M-2) has no order number: the one kept before stays.
            try await Self.expectExactSummary(of: "QO-1", orderNumber: "N-1", in: store)
            #expect(try await Self.listedSummary(of: "QO-1", in: store)?.lastMessage.messageID == "M-2")

            // Updated: a newer version of an older message becomes the last one.
            _ = try await store.store(Self.message(id: "M-1", at: Self.base + 20, read: true, orderNumber: "N-2", text: "edited"))
            try await Self.expectExactSummary(of: "QO-1", orderNumber: "N-2", in: store)
            // Duplicate and stale: nothing changes.
            _ = try await store.store(Self.message(id: "M-1", at: Self.base + 20, read: true, orderNumber: "N-2", text: "edited"))
            _ = try await store.store(Self.message(id: "M-3", at: Self.base + 5, read: false))
            _ = try await store.store(Self.message(id: "M-3", at: Self.base + 10, read: false, text: "other content, same time"))
            try await Self.expectExactSummary(of: "QO-1", orderNumber: "N-2", in: store)
            // Read by a reader.
            _ = try await store.setRead(true, of: Self.message(id: "M-2", type: .sent).key, at: Self.base + 1_000)
            try await Self.expectExactSummary(of: "QO-1", orderNumber: "N-2", in: store)
            #expect(try await Self.listedSummary(of: "QO-1", in: store)?.unreadCount == 0)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func theLastMessagesPreviewIsItsFirst200Characters(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            let texts = [
                "short \u{0} with a NUL",
                String(repeating: "e\u{301}", count: 250),  // 250 characters of 2 scalars
                String(repeating: "a", count: 5_000),
                String(repeating: "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}", count: 250),  // 25 bytes each
                "\u{0}" + String(repeating: "x\u{0}", count: 300),
                String(repeating: "\u{E9}", count: 1_500),  // 2 bytes each
                "a" + String(repeating: "\u{4E2D}", count: 1_000),  // 3 bytes each, after 1
            ]
            for (index, text) in texts.enumerated() {
                let message = Self.message(order: "QO-\(index)", id: "M-1", text: text)
                _ = try await store.store(message)
                let preview = try await Self.listedSummary(of: message.orderID, in: store)?.lastMessage
                #expect(preview == MessagePreview(of: message))
                #expect(preview.map { Array($0.text.utf8) } == Array(String(text.prefix(200)).utf8))
            }
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func theOrdersListRunsByActivityWithTiesByOrderIdAndPagesByKey(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            // Order id → (last activity, read): "QO-A" < "QO-B" < "QO-a" in byte order.
            let orders: [(String, Int64, Bool)] = [
                ("QO-B", 300, false), ("QO-A", 300, true), ("QO-C", 200, true), ("QO-D", 400, false), ("QO-E", 100, false),
                ("QO-a", 300, false),
            ]
            for (order, activity, read) in orders {
                _ = try await store.store(Self.message(order: order, id: "M-old", at: Self.base, read: true))
                _ = try await store.store(Self.message(order: order, id: "M-new", at: Self.base + activity, read: read))
            }
            let expected = ["QO-D", "QO-A", "QO-B", "QO-a", "QO-C", "QO-E"]

            for limit in 1...7 {
                let pages = try await Self.allPages { try await store.orders(after: $0, limit: limit, unreadOnly: false) }
                #expect(pages.flatMap(\.items).map(\.orderID) == expected, "limit \(limit)")
                #expect(pages.dropLast().allSatisfy { $0.items.count == limit && $0.next == $0.items.last.map(OrderPosition.init(of:)) })
                #expect(pages.last?.next == nil)
                #expect(pages.count == (expected.count + limit - 1) / limit)
            }
            let unread = try await Self.allPages { try await store.orders(after: $0, limit: 2, unreadOnly: true) }
            #expect(unread.flatMap(\.items).map(\.orderID) == ["QO-D", "QO-B", "QO-a", "QO-E"])
            #expect(unread.map(\.items.count) == [2, 2])

            // A position continues after itself, whether or not an order sits there.
            let afterTie = try await store.orders(after: OrderPosition(lastMessageAt: Self.base + 300, orderID: "QO-A"), limit: 10, unreadOnly: false)
            #expect(afterTie.items.map(\.orderID) == ["QO-B", "QO-a", "QO-C", "QO-E"])
            let between = try await store.orders(after: OrderPosition(lastMessageAt: Self.base + 300, orderID: "QO-Az"), limit: 2, unreadOnly: true)
            #expect(between.items.map(\.orderID) == ["QO-B", "QO-a"])
            #expect(between.next == OrderPosition(lastMessageAt: Self.base + 300, orderID: "QO-a"))

            let first = try #require(try await store.orders(after: nil, limit: 1, unreadOnly: false).items.first)
            #expect(first.messageCount == 2 && first.unreadCount == 1 && first.lastMessage.messageID == "M-new")
        }
    }

    // MARK: Conversations and threads

    /// An order's messages across two threads and the main one, with tied timestamps.
    static let conversationMessages: [StoredMessage] = [
        message(id: "M-5", type: .sent, at: base + 50),
        message(id: "M-1", at: base + 10, thread: "T-1"),
        message(id: "M-2", type: .sent, at: base + 20),
        message(id: "M-3", at: base + 20, thread: "T-1"),  // ties M-2: received# sorts before sent#
        message(id: "M-4", at: base + 40, read: true, thread: "QO-1"),  // names the main thread
        message(id: "M-6", at: base + 30, thread: "T-2"),
        message(id: "M-7", type: .sent, at: base + 60, read: true, thread: "T-1"),
        message(id: "M-8", at: base + 60, thread: "T-1"),
    ]

    @Test(arguments: StoreUnderTest.available)
    func aConversationRunsByTimeThenSortKeyAndFiltersByThread(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            for message in Self.conversationMessages { _ = try await store.store(message) }
            _ = try await store.store(Self.message(order: "QO-2", id: "M-1", at: Self.base))

            let all = try await Self.allPages { try await store.conversation(ofOrder: "QO-1", thread: nil, after: $0, limit: 3) }
            #expect(all.flatMap(\.items).map(\.messageID) == ["M-1", "M-3", "M-2", "M-6", "M-4", "M-5", "M-8", "M-7"])
            #expect(all.map(\.items.count) == [3, 3, 2])
            #expect(all.map(\.next) == [
                ConversationPosition(of: Self.conversationMessages[2]), ConversationPosition(of: Self.conversationMessages[0]), nil,
            ])
            #expect(all.flatMap(\.items) == all.flatMap(\.items).sorted { ConversationPosition(of: $0) < ConversationPosition(of: $1) })

            let t1 = try await Self.allPages { try await store.conversation(ofOrder: "QO-1", thread: "T-1", after: $0, limit: 2) }
            #expect(t1.flatMap(\.items).map(\.messageID) == ["M-1", "M-3", "M-8", "M-7"])
            #expect(t1.last?.next == nil && t1.count == 2)
            let main = try await Self.allPages { try await store.conversation(ofOrder: "QO-1", thread: "QO-1", after: $0, limit: 10) }
            #expect(main.flatMap(\.items).map(\.messageID) == ["M-2", "M-4", "M-5"])
            let none = try await store.conversation(ofOrder: "QO-1", thread: "T-404", after: nil, limit: 10)
            #expect(none.items.isEmpty && none.next == nil)

            // A position between messages continues after it.
            let afterTie = try await store.conversation(
                ofOrder: "QO-1", thread: nil, after: ConversationPosition(timestamp: Self.base + 20, sortKey: "message.received#M-3~"), limit: 2
            )
            #expect(afterTie.items.map(\.messageID) == ["M-2", "M-6"])
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func threadsCountTheirMessagesAndRunByFirstMessage(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            #expect(try await store.threads(ofOrder: "QO-1").isEmpty)
            var messages = Self.conversationMessages
            // Thread ids that differ only in normalization are two threads; ties by id bytes.
            messages.append(Self.message(id: "M-9", at: Self.base + 30, thread: "caf\u{E9}"))
            messages.append(Self.message(id: "M-10", at: Self.base + 30, thread: "cafe\u{301}"))
            for message in messages { _ = try await store.store(message) }

            let threads = try await store.threads(ofOrder: "QO-1")
            #expect(threads == [
                ThreadSummary(threadID: "T-1", messageCount: 4, unreadCount: 3, firstMessageAt: Self.base + 10, lastMessageAt: Self.base + 60),
                ThreadSummary(threadID: "QO-1", messageCount: 3, unreadCount: 2, firstMessageAt: Self.base + 20, lastMessageAt: Self.base + 50),
                ThreadSummary(threadID: "T-2", messageCount: 1, unreadCount: 1, firstMessageAt: Self.base + 30, lastMessageAt: Self.base + 30),
                ThreadSummary(threadID: "cafe\u{301}", messageCount: 1, unreadCount: 1, firstMessageAt: Self.base + 30, lastMessageAt: Self.base + 30),
                ThreadSummary(threadID: "caf\u{E9}", messageCount: 1, unreadCount: 1, firstMessageAt: Self.base + 30, lastMessageAt: Self.base + 30),
            ])
            #expect(threads.map { Array($0.threadID.utf8) } == ThreadSummary.summarize(messages).map { Array($0.threadID.utf8) })
            #expect(threads == ThreadSummary.summarize(messages))

            _ = try await store.setRead(true, of: messages[1].key, at: Self.base + 1_000)
            #expect(try await store.threads(ofOrder: "QO-1").first?.unreadCount == 2)
        }
    }
}
