import Foundation
import HTTPTypes
import HummingbirdTesting
import MessageStore
import StoreTestSupport
import Testing

@testable import WebhookApp

/// One message, its read status against deliveries, and the threading fields.
@Suite struct ReaderMessageTests {
    @Test(arguments: StoreUnderTest.available)
    func oneMessageIsTheListingsItem(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind) { client, _ in
            _ = try await client.postMessage(readerPayload(id: "MSG-1", thread: "T-9", inReplyTo: "MSG-0"))
            let listed = try #require(try await client.getMessages("QO-READ").json()["messages"] as? [[String: Any]]).first
            let one = try await client.read("messages/QO-READ/message.received/MSG-1")
            #expect(one.status == .ok)
            let item = try #require(try one.json()["message"] as? [String: Any])
            let canonical = { (object: Any) in try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) }
            #expect(try canonical(item) == canonical(try #require(listed)), "the listing's item shape")
            #expect(item["threadId"] as? String == "T-9")
            #expect(item["inReplyTo"] as? String == "MSG-0")

            for missing in ["messages/QO-READ/message.sent/MSG-1", "messages/QO-READ/message.received/MSG-2", "messages/QO-NONE/message.received/MSG-1"] {
                let response = try await client.read(missing)
                #expect(response.status == .notFound, "\(missing)")
                #expect(try response.json()["error"] as? String == "not_found")
            }
            let badType = try await client.read("messages/QO-READ/message.other/MSG-1")
            #expect(badType.status == .badRequest)
            #expect(try badType.errorFields()["message_type"] != nil)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func threadFieldsAreStoredWhenPresentAndCheckedLikeIdentifiers(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind) { client, _ in
            _ = try await client.postMessage(readerPayload(id: "MSG-PLAIN"))
            let plain = try #require(try await client.read("messages/QO-READ/message.received/MSG-PLAIN").json()["message"] as? [String: Any])
            #expect(plain["threadId"] == nil && plain["inReplyTo"] == nil && plain["readUpdatedAt"] == nil)
            for (field, value) in [("thread_id", String(repeating: "t", count: 257)), ("in_reply_to", "a\u{7}b"), ("thread_id", ""), ("in_reply_to", "")] {
                var payload = readerPayload(id: "MSG-BAD")
                payload[field] = value
                let response = try await client.postMessage(payload)
                #expect(response.status == .badRequest, "\(field)")
                #expect(try response.errorFields()[field] != nil, "\(field): \(response.text)")
            }
            var numeric = readerPayload(id: "MSG-BAD")
            numeric["thread_id"] = 7
            #expect(try await client.postMessage(numeric).status == .badRequest)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func patchSetsReadAndOnlyTakesAReadBody(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind) { client, _ in
            _ = try await client.postMessage(readerPayload(id: "MSG-1"))
            let before = UnixTime.nowMilliseconds()
            let marked = try await client.patchRead("QO-READ/message.received/MSG-1", body: #"{"read":true}"#)
            #expect(marked.status == .ok)
            let item = try #require(try marked.json()["message"] as? [String: Any])
            #expect(item["read"] as? Bool == true)
            let stamped = try #require(item["readUpdatedAt"] as? Int64)
            #expect(stamped >= before && stamped <= UnixTime.nowMilliseconds())
            let listed = try #require(try await client.getMessages("QO-READ").json()["messages"] as? [[String: Any]])
            #expect(listed.first?["read"] as? Bool == true)

            #expect(try await client.patchRead("QO-READ/message.received/MSG-1", body: #"{"read":false}"#).json()["message"].flatMap { ($0 as? [String: Any])?["read"] as? Bool } == false)

            for body in ["{}", #"{"read":"true"}"#, #"{"read":1}"#, #"{"read":null}"#, #"{"read":true,"text":"x"}"#, "[true]", "true"] {
                let response = try await client.patchRead("QO-READ/message.received/MSG-1", body: body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(try response.json()["error"] as? String == "validation_failed", "\(body): \(response.text)")
            }
            let notJSON = try await client.patchRead("QO-READ/message.received/MSG-1", body: "{read:true}")
            #expect(try notJSON.json()["error"] as? String == "invalid_json")
            let missing = try await client.patchRead("QO-READ/message.received/MSG-404", body: #"{"read":true}"#)
            #expect(missing.status == .notFound)
            #expect(try missing.json()["error"] as? String == "not_found")
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func theNewestReadStatementWinsBetweenPatchesAndDeliveries(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind) { client, _ in
            func stored() async throws -> [String: Any] {
                try #require(try await client.read("messages/QO-READ/message.received/MSG-1").json()["message"] as? [String: Any])
            }
            // A PATCH (now), then a newer delivery whose timestamp is older than the PATCH:
            // the message is replaced, its read stays the reader's.
            _ = try await client.postMessage(readerPayload(id: "MSG-1", timestamp: payloadTime(0), read: false))
            _ = try await client.patchRead("QO-READ/message.received/MSG-1", body: #"{"read":true}"#)
            let redelivered = try await client.postMessage(readerPayload(id: "MSG-1", timestamp: payloadTime(60), text: "edited", read: false))
            #expect(try redelivered.json()["delivery"] as? String == "updated")
            var item = try await stored()
            #expect(item["text"] as? String == "edited")
            #expect(item["read"] as? Bool == true, "the reader's statement is newer than the delivery's timestamp")
            #expect(item["readUpdatedAt"] != nil)

            // The same delivery again is a duplicate, not a change, though read differs from it.
            let again = try await client.postMessage(readerPayload(id: "MSG-1", timestamp: payloadTime(60), text: "edited", read: false))
            #expect(try again.json()["delivery"] as? String == "duplicate")

            // A delivery stamped after the PATCH (an hour ahead) wins, read included.
            let future = ISO8601.string(fromUnixMilliseconds: UnixTime.nowMilliseconds() + 3_600_000)
            _ = try await client.postMessage(readerPayload(id: "MSG-1", timestamp: future, text: "later", read: false))
            item = try await stored()
            #expect(item["text"] as? String == "later")
            #expect(item["read"] as? Bool == false)
            #expect(item["readUpdatedAt"] == nil, "read is the delivery's again")

            // Now a PATCH is older than the stored statement: it changes nothing.
            let late = try await client.patchRead("QO-READ/message.received/MSG-1", body: #"{"read":true}"#)
            #expect(late.status == .ok)
            #expect((try late.json()["message"] as? [String: Any])?["read"] as? Bool == false)
            #expect(try await stored()["read"] as? Bool == false)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func anOlderDeliveryAfterAPatchChangesNothing(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind) { client, _ in
            _ = try await client.postMessage(readerPayload(id: "MSG-1", timestamp: payloadTime(60), text: "new"))
            _ = try await client.patchRead("QO-READ/message.received/MSG-1", body: #"{"read":true}"#)
            let stale = try await client.postMessage(readerPayload(id: "MSG-1", timestamp: payloadTime(0), text: "old", read: false))
            #expect(try stale.json()["delivery"] as? String == "stale")
            let item = try #require(try await client.read("messages/QO-READ/message.received/MSG-1").json()["message"] as? [String: Any])
            #expect(item["text"] as? String == "new")
            #expect(item["read"] as? Bool == true)
        }
    }
}

/// The orders list, conversations and threads.
@Suite struct ReaderOrderTests {
    @Test(arguments: StoreUnderTest.available)
    func ordersComeMostRecentFirstWithExactCounts(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind) { client, _ in
            _ = try await client.postMessage(readerPayload(order: "QO-A", id: "MSG-1", timestamp: payloadTime(10)))
            _ = try await client.postMessage(readerPayload(order: "QO-A", id: "MSG-2", type: "message.sent", timestamp: payloadTime(20), read: true))
            _ = try await client.postMessage(readerPayload(order: "QO-B", id: "MSG-1", timestamp: payloadTime(30), text: String(repeating: "é", count: 250)))
            _ = try await client.postMessage(readerPayload(order: "QO-C", id: "MSG-1", timestamp: payloadTime(5)))
            _ = try await client.postMessage(readerPayload(order: "QO-D", id: "MSG-1", timestamp: payloadTime(30)))
            // A duplicate and a stale delivery change no count.
            _ = try await client.postMessage(readerPayload(order: "QO-A", id: "MSG-1", timestamp: payloadTime(10)))
            _ = try await client.postMessage(readerPayload(order: "QO-A", id: "MSG-1", timestamp: payloadTime(1)))

            let body = try await client.read("orders").json()
            let orders = try #require(body["orders"] as? [[String: Any]])
            #expect(orders.compactMap { $0["order_id"] as? String } == ["QO-B", "QO-D", "QO-A", "QO-C"], "newest first, ties by order id")
            #expect(body.keys.contains("next_cursor") && body["next_cursor"] is NSNull)
            let a = try #require(orders.first { $0["order_id"] as? String == "QO-A" })
            #expect(a["message_count"] as? Int == 2)
            #expect(a["unread_count"] as? Int == 1)
            #expect(a["order_number"] as? String == "ORD-2025-001")
            #expect(a["last_message_at"] as? String == "2025-10-28T10:30:20.000Z")
            let last = try #require(a["last_message"] as? [String: Any])
            #expect(last["message_id"] as? String == "MSG-2" && last["message_type"] as? String == "message.sent")
            #expect(last["from_name"] as? String == "John Smith")
            let b = try #require(orders.first { $0["order_id"] as? String == "QO-B" })
            #expect((b["last_message"] as? [String: Any])?["text"] as? String == String(repeating: "é", count: 200))

            // A reader marks QO-A's unread message: it leaves the unread list.
            _ = try await client.patchRead("QO-A/message.received/MSG-1", body: #"{"read":true}"#)
            let unread = try #require(try await client.read("orders?unread=true").json()["orders"] as? [[String: Any]])
            #expect(unread.compactMap { $0["order_id"] as? String } == ["QO-B", "QO-D", "QO-C"])
            // A delivery that flips read back counts too.
            _ = try await client.postMessage(readerPayload(order: "QO-A", id: "MSG-2", type: "message.sent", timestamp: payloadTime(25), read: false))
            let again = try #require(try await client.read("orders?unread=true").json()["orders"] as? [[String: Any]])
            #expect(again.first { $0["order_id"] as? String == "QO-A" }?["unread_count"] as? Int == 1)

            let pages = try await client.followPages("orders?limit=1", items: "orders")
            #expect(pages.flatMap { $0 }.compactMap { $0["order_id"] as? String } == ["QO-B", "QO-D", "QO-A", "QO-C"])
            let unreadPages = try await client.followPages("orders?limit=2&unread=true", items: "orders")
            #expect(unreadPages.flatMap { $0 }.count == 4)
            #expect(try await client.read("orders?unread=maybe").status == .badRequest)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func theConversationRunsByTimestampThenSortKey(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind) { client, _ in
            _ = try await client.postMessage(readerPayload(id: "MSG-3", timestamp: payloadTime(1)))
            _ = try await client.postMessage(readerPayload(id: "MSG-1", type: "message.sent", timestamp: payloadTime(2), thread: "T-1"))
            _ = try await client.postMessage(readerPayload(id: "MSG-2", timestamp: payloadTime(2), thread: "T-1", inReplyTo: "MSG-1"))
            _ = try await client.postMessage(readerPayload(id: "MSG-0", timestamp: payloadTime(3), thread: "QO-READ"))
            _ = try await client.postMessage(readerPayload(id: "MSG-9", type: "message.sent", timestamp: payloadTime(0)))

            let all = try await client.read("orders/QO-READ/conversation").json()
            let keys = try #require(all["messages"] as? [[String: Any]]).compactMap { $0["SK"] as? String }
            #expect(keys == ["message.sent#MSG-9", "message.received#MSG-3", "message.received#MSG-2", "message.sent#MSG-1", "message.received#MSG-0"])
            #expect(all["thread_id"] is NSNull)

            let thread = try #require(try await client.read("orders/QO-READ/conversation?thread_id=T-1").json()["messages"] as? [[String: Any]])
            #expect(thread.compactMap { $0["messageId"] as? String } == ["MSG-2", "MSG-1"])
            let main = try #require(try await client.read("orders/QO-READ/conversation?thread_id=QO-READ").json()["messages"] as? [[String: Any]])
            #expect(main.compactMap { $0["messageId"] as? String } == ["MSG-9", "MSG-3", "MSG-0"], "the main thread's id is the order id")

            let pages = try await client.followPages("orders/QO-READ/conversation?limit=2", items: "messages")
            #expect(pages.map(\.count) == [2, 2, 1])
            #expect(pages.flatMap { $0 }.compactMap { $0["SK"] as? String } == keys)
            #expect(try await client.read("orders/QO-READ/conversation?thread_id=").status == .badRequest)
            let none = try await client.read("orders/QO-NONE/conversation").json()
            #expect((none["messages"] as? [Any])?.isEmpty == true)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func threadsCountTheirMessages(_ kind: StoreUnderTest) async throws {
        try await withReaderService(kind) { client, _ in
            _ = try await client.postMessage(readerPayload(id: "MSG-1", timestamp: payloadTime(5)))
            _ = try await client.postMessage(readerPayload(id: "MSG-2", timestamp: payloadTime(1), thread: "T-1"))
            _ = try await client.postMessage(readerPayload(id: "MSG-3", type: "message.sent", timestamp: payloadTime(9), read: true, thread: "T-1"))
            _ = try await client.postMessage(readerPayload(id: "MSG-4", timestamp: payloadTime(7), thread: "T-\u{212A}"))
            let threads = try #require(try await client.read("orders/QO-READ/threads").json()["threads"] as? [[String: Any]])
            #expect(threads.compactMap { $0["thread_id"] as? String } == ["T-1", "QO-READ", "T-\u{212A}"])
            #expect(threads.compactMap { $0["message_count"] as? Int } == [2, 1, 1])
            #expect(threads.compactMap { $0["unread_count"] as? Int } == [1, 1, 1])
            #expect(threads.first?["first_message_at"] as? String == "2025-10-28T10:30:01.000Z")
            #expect(threads.first?["last_message_at"] as? String == "2025-10-28T10:30:09.000Z")
            _ = try await client.patchRead("QO-READ/message.received/MSG-2", body: #"{"read":true}"#)
            let after = try #require(try await client.read("orders/QO-READ/threads").json()["threads"] as? [[String: Any]])
            #expect(after.first?["unread_count"] as? Int == 0)
            #expect((try await client.read("orders/QO-NONE/threads").json()["threads"] as? [Any])?.isEmpty == true)
        }
    }
}
