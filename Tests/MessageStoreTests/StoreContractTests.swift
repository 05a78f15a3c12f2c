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
            try await store.store(full)
            try await store.store(bare)

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
            try await store.store(message)
            let stored = try await store.messages(forOrder: "QO-123456", type: nil)
            #expect(stored == [message])
            #expect(stored.first.map { Array($0.text.utf8) } == Array(text.utf8))
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func storingTheSameKeyAgainReplacesIt(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            try await store.store(sampleMessage())
            var updated = sampleMessage()
            updated.read = true
            updated.text = "edited"
            try await store.store(updated)
            #expect(try await store.messages(forOrder: "QO-123456", type: nil) == [updated])
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func messagesComeBackInSortKeyOrderAndFilterByType(_ kind: StoreUnderTest) async throws {
        try await withStore(kind) { store in
            let inserted = [
                sampleMessage(id: "MSG-3", type: .sent), sampleMessage(id: "MSG-2", type: .received),
                sampleMessage(id: "MSG-1", type: .sent), sampleMessage(id: "MSG-10", type: .received),
            ]
            for message in inserted { try await store.store(message) }

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
            try await store.store(sampleMessage(order: "QO-1"))
            try await store.store(sampleMessage(order: "QO-10"))
            try await store.store(sampleMessage(order: "QO-1 "))
            #expect(try await store.messages(forOrder: "QO-1", type: nil).map(\.orderID) == ["QO-1"])
            #expect(try await store.messages(forOrder: "QO-10", type: .received).map(\.orderID) == ["QO-10"])
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
