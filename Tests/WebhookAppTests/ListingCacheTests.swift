import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MessageStore
import SQLiteMessageStore
import NIOCore
import StoreTestSupport
import Testing

@testable import WebhookApp

/// Kept `GET` answers: reused only while their order is unchanged, and bounded in size.
@Suite struct ListingCacheTests {
    @Test func aKeptListingNeverHidesAWriteFromAnotherInstanceOnTheSameFile() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("m.sqlite")
        let configuration = AppConfiguration(auth: .init(credentials: testCredentials), http: .init(port: 0))
        let logger = Logger(label: "test")
        let first = buildApplication(configuration, store: try await SQLiteMessageStore.open(.init(path: path), logger: logger), logger: logger)
        let second = buildApplication(configuration, store: try await SQLiteMessageStore.open(.init(path: path), logger: logger), logger: logger)

        try await first.test(.router) { reader in
            try await second.test(.router) { writer in
                #expect(try await writer.postMessage(specExample()).status == .ok)
                let before = try await reader.getMessages("QO-123456")
                #expect(try before.json()["count"] as? Int == 1)
                #expect(try await reader.getMessages("QO-123456").text == before.text)  // served again, unchanged

                var newer = specExample()
                newer["timestamp"] = "2025-10-28T11:00:00Z"
                newer["read"] = true
                #expect(try await writer.postMessage(newer).json()["delivery"] as? String == "updated")
                var another = specExample()
                another["message_id"] = "MSG-002"
                #expect(try await writer.postMessage(another).status == .ok)

                let after = try await reader.getMessages("QO-123456").json()
                #expect(after["count"] as? Int == 2)
                let messages = try #require(after["messages"] as? [[String: Any]])
                #expect(messages.first?["read"] as? Bool == true)
                let filtered = try await reader.getMessages("QO-123456?message_type=message.sent").json()
                #expect(filtered["count"] as? Int == 0)
            }
        }
    }

    @Test func aListingIsReusedWhileItsOrderIsUnchanged() async throws {
        try await withService(.sqlite) { client, _, _ in
            #expect(try await client.postMessage(specExample()).status == .ok)
            let first = try await client.getMessages("QO-123456")
            let second = try await client.getMessages("QO-123456")
            #expect(second.status == .ok)
            #expect(second.text == first.text)
            #expect(second.headers[.contentType] == "application/json; charset=utf-8")
        }
    }

    @Test func keptBytesStayWithinTheCapacityAndTheNewestSurvive() {
        let cache = ListingCache(capacity: 64 * 1024)
        let body = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1000)
        for order in 0..<1000 {
            cache.keep(.init(version: 1, body: body), for: .init(orderID: "QO-\(order)", type: nil))
            #expect(cache.keptBytes <= 64 * 1024)
        }
        #expect(cache.entry(for: .init(orderID: "QO-999", type: nil))?.body == body)
        #expect(cache.entry(for: .init(orderID: "QO-0", type: nil)) == nil)
        #expect(cache.entry(for: .init(orderID: "QO-999", type: .sent)) == nil)
    }

    @Test func aRecentlyReadListingOutlivesOlderOnes() {
        let cache = ListingCache(capacity: 16 * 1024)
        let body = ByteBuffer(repeating: 0x20, count: 1000)
        let favourite = ListingCache.Key(orderID: "QO-FAVOURITE", type: nil)
        cache.keep(.init(version: 7, body: body), for: favourite)
        for order in 0..<100 {
            _ = cache.entry(for: favourite)
            cache.keep(.init(version: 1, body: body), for: .init(orderID: "QO-\(order)", type: nil))
        }
        #expect(cache.entry(for: favourite)?.version == 7)
    }

    @Test func aSlowerRequestDoesNotReplaceANewerAnswer() {
        let cache = ListingCache(capacity: 64 * 1024)
        let key = ListingCache.Key(orderID: "QO-1", type: nil)
        cache.keep(.init(version: 5, body: ByteBuffer(string: "newer")), for: key)
        cache.keep(.init(version: 4, body: ByteBuffer(string: "older")), for: key)
        #expect(cache.entry(for: key)?.body == ByteBuffer(string: "newer"))
        cache.keep(.init(version: 6, body: ByteBuffer(string: "newest")), for: key)
        #expect(cache.entry(for: key)?.body == ByteBuffer(string: "newest"))
    }

    @Test func zeroCapacityKeepsNothingAndOversizedAnswersAreNotKept() {
        let off = ListingCache(capacity: 0)
        off.keep(.init(version: 1, body: ByteBuffer(string: "[]")), for: .init(orderID: "QO-1", type: nil))
        #expect(off.entry(for: .init(orderID: "QO-1", type: nil)) == nil)
        let small = ListingCache(capacity: 4096)
        small.keep(.init(version: 1, body: ByteBuffer(repeating: 0, count: 2000)), for: .init(orderID: "QO-1", type: nil))
        #expect(small.entry(for: .init(orderID: "QO-1", type: nil)) == nil)
        #expect(small.keptBytes == 0)
    }
}
