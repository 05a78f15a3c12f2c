import MessageStore
import StoreTestSupport
import Testing

/// What every `MessageStore` must do, whatever the technology behind it.
@Suite struct StoreContractTests {
    @Test(arguments: StoreUnderTest.available)
    func storedMessageReadsBackFieldForField(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            let full = sampleMessage()
            var bare = sampleMessage(id: "MSG-002", type: .sent, text: "")
            bare.orderNumber = nil
            bare.attachments = nil
            bare.read = true
            _ = try await store.store(full)
            _ = try await store.store(bare)

            let messages = try await store.messages(forOrder: "QO-123456", type: nil)
            #expect(messages == [full, bare])
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func textKeepsEveryCharacterExactly(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            let text = "Line one\nLine two\r\n\ttabbed \u{0} after NUL — «quotes» \"double\" 'single' \\ 😀 e\u{301} \u{2028} 中文"
            var message = sampleMessage(text: text)
            message.fromName = "Zoë O'Brien"
            message.attachments = [Attachment(id: "ATT-ü", name: "naïve \"file\".pdf", url: "https://example.com/a%20b?x=1&y=2", tag: nil)]
            _ = try await store.store(message)
            let stored = try await store.messages(forOrder: "QO-123456", type: nil)
            #expect(stored == [message])
            #expect(stored.first.map { Array($0.text.utf8) } == Array(text.utf8))
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aNewerVersionReplacesTheStoredOne(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            let outcome1 = try await store.store(sampleMessage())
            #expect(outcome1 == StoreOutcome.created)
            var newer = sampleMessage()
            newer.read = true
            newer.timestamp += 1
            newer.storedAt = "2025-10-28T10:31:00Z"
            let outcome2 = try await store.store(newer)
            #expect(outcome2 == StoreOutcome.updated)
            let stored3 = try await store.messages(forOrder: "QO-123456", type: nil)
            #expect(stored3 == [newer])
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func anOlderVersionNeverOverwritesANewerOne(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            var newer = sampleMessage()
            newer.read = true
            let outcome4 = try await store.store(newer)
            #expect(outcome4 == StoreOutcome.created)
            var older = sampleMessage()
            older.timestamp -= 60_000
            older.text = "an earlier edit"
            let outcome5 = try await store.store(older)
            #expect(outcome5 == StoreOutcome.stale)
            let stored6 = try await store.messages(forOrder: "QO-123456", type: nil)
            #expect(stored6 == [newer])
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func anIdenticalRedeliveryIsADuplicateAndChangesNothing(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            let outcome7 = try await store.store(sampleMessage())
            #expect(outcome7 == StoreOutcome.created)
            var again = sampleMessage()
            again.storedAt = "2025-10-28T11:00:00Z"
            let outcome8 = try await store.store(again)
            #expect(outcome8 == StoreOutcome.duplicate)
            let stored9 = try await store.messages(forOrder: "QO-123456", type: nil)
            #expect(stored9 == [sampleMessage()], "storedAt keeps the first delivery's")
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func anotherVersionWithTheSameTimestampKeepsTheFirst(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            let outcome10 = try await store.store(sampleMessage())
            #expect(outcome10 == StoreOutcome.created)
            var conflicting = sampleMessage()
            conflicting.text = "same timestamp, other text"
            let outcome11 = try await store.store(conflicting)
            #expect(outcome11 == StoreOutcome.stale)
            let stored12 = try await store.messages(forOrder: "QO-123456", type: nil)
            #expect(stored12 == [sampleMessage()])
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func racingConflictingDeliveriesOnSeveralInstancesEndWithTheNewest(_ kind: StoreUnderTest) async throws {
        let (first, openAnother, close) = try await kind.openShared(.racing)
        do {
            let instances = [first, try await openAnother(), try await openAnother()]
            let versions = (1...24).map { version in
                var message = sampleMessage()
                message.timestamp = 1_761_647_400_000 + Int64(version)
                message.text = "version \(version)"
                return message
            }.shuffled()
            let outcomes = try await withThrowingTaskGroup(of: StoreOutcome.self) { group in
                for (index, version) in versions.enumerated() {
                    let instance = instances[index % instances.count]
                    group.addTask { try await instance.store(version) }
                }
                return try await group.reduce(into: [StoreOutcome]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == .created }.count == 1)
            #expect(!outcomes.contains(.duplicate))
            let stored = try await first.messages(forOrder: "QO-123456", type: nil)
            #expect(stored.map(\.text) == ["version 24"])
        } catch {
            await close()
            throw error
        }
        await close()
    }

    @Test(arguments: StoreUnderTest.available)
    func messagesComeBackInSortKeyOrderAndFilterByType(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            let inserted = [
                sampleMessage(id: "MSG-3", type: .sent), sampleMessage(id: "MSG-2", type: .received),
                sampleMessage(id: "MSG-1", type: .sent), sampleMessage(id: "MSG-10", type: .received),
            ]
            for message in inserted { _ = try await store.store(message) }

            let all = try await store.messages(forOrder: "QO-123456", type: nil)
            #expect(all.map(\.sortKey) == ["message.received#MSG-10", "message.received#MSG-2", "message.sent#MSG-1", "message.sent#MSG-3"])
            let sent = try await store.messages(forOrder: "QO-123456", type: .sent)
            #expect(sent.map(\.messageID) == ["MSG-1", "MSG-3"])
            let received = try await store.messages(forOrder: "QO-123456", type: .received)
            #expect(received.map(\.messageID) == ["MSG-10", "MSG-2"])
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func ordersDoNotMix(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            _ = try await store.store(sampleMessage(order: "QO-1"))
            _ = try await store.store(sampleMessage(order: "QO-10"))
            _ = try await store.store(sampleMessage(order: "QO-1 "))
            let stored13 = try await store.messages(forOrder: "QO-1", type: nil).map(\.orderID)
            #expect(stored13 == ["QO-1"])
            let stored14 = try await store.messages(forOrder: "QO-10", type: .received).map(\.orderID)
            #expect(stored14 == ["QO-10"])
            #expect(try await store.messages(forOrder: "QO-404", type: nil).isEmpty)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func readinessAnswersWhileOpenAndFailsAfterShutdown(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            try await store.checkReadiness()
            try await store.shutdown()
            await #expect(throws: MessageStoreError.self) { try await store.checkReadiness() }
            await #expect(throws: MessageStoreError.self) { try await store.store(sampleMessage()) }
        }
    }
}
