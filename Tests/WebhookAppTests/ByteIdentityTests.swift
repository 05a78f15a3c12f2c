import Foundation
import HTTPTypes
import HummingbirdTesting
import MessageStore
import NIOCore
import StoreTestSupport
import Testing

@testable import WebhookApp

/// Identifiers and stored text are compared as UTF-8 bytes everywhere, never as Swift
/// `String`s (which call canonically equivalent text equal): pairs that differ only in
/// Unicode normalization are different orders, different messages and different texts.
@Suite struct ByteIdentityTests {
    /// Pairs of strings that Swift's `==` calls equal but whose bytes differ.
    static let lookalikes: [(String, String)] = [
        ("QO-K42", "QO-\u{212A}42"),  // LATIN CAPITAL K, KELVIN SIGN
        ("QO-caf\u{E9}", "QO-cafe\u{301}"),  // precomposed é, e + COMBINING ACUTE ACCENT
        ("QO-\u{212B}x", "QO-A\u{30A}x"),  // ANGSTROM SIGN, A + COMBINING RING ABOVE
    ]

    @Test func theLookalikesReallyAreEqualStringsWithDifferentBytes() {
        for (first, second) in Self.lookalikes {
            #expect(first == second)
            #expect(!first.hasSameUTF8(as: second))
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func ordersThatDifferOnlyInNormalizationKeepTheirOwnMessages(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            for (first, second) in Self.lookalikes {
                #expect(try await client.postMessage(message(order: first, text: "REAL")).status == .ok)
                #expect(try await client.postMessage(message(order: second, text: "OTHER")).status == .ok)
                // The second order first, so that its answer is the one a cache would hold.
                for _ in 0..<2 {
                    let secondBody = try await client.getMessages(encodedPath(second)).json()
                    let firstBody = try await client.getMessages(encodedPath(first)).json()
                    #expect(texts(firstBody) == ["REAL"])
                    #expect(texts(secondBody) == ["OTHER"])
                    #expect((firstBody["order_id"] as? String).map { Array($0.utf8) } == Array(first.utf8))
                    #expect((secondBody["order_id"] as? String).map { Array($0.utf8) } == Array(second.utf8))
                }
            }
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aRedeliveryWhoseTextDiffersOnlyInNormalizationIsNotADuplicate(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            let precomposed = "Caf\u{E9} wire of $1,000", decomposed = "Cafe\u{301} wire of $1,000"
            let fields: [(field: String, apply: (inout [String: Any], String) -> Void)] = [
                ("text", { $0["text"] = $1 }),
                ("from_name", { $0["from_name"] = $1 }),
                ("attachment name", { $0["attachments"] = [["_id": "ATT-1", "name": $1, "url": "https://example.com/a.pdf"]] }),
            ]
            for (index, field) in fields.enumerated() {
                var payload = message(order: "QO-NORM-\(index)", text: "x")
                field.apply(&payload, precomposed)
                #expect(try await delivery(client, payload) == "created", "\(field.field)")
                // The same timestamp with other bytes: another version, and the first stored wins.
                field.apply(&payload, decomposed)
                #expect(try await delivery(client, payload) == "stale", "\(field.field)")
                #expect(try await storedBytes(client, "QO-NORM-\(index)").contains(Array(precomposed.utf8)), "\(field.field)")
                // A newer timestamp with other bytes replaces it, bytes and all.
                payload["timestamp"] = "2025-10-28T10:31:00Z"
                #expect(try await delivery(client, payload) == "updated", "\(field.field)")
                let stored = try await storedBytes(client, "QO-NORM-\(index)")
                #expect(stored.contains(Array(decomposed.utf8)), "\(field.field)")
                #expect(!stored.contains(Array(precomposed.utf8)), "\(field.field)")
                // And the very same bytes again are a duplicate.
                #expect(try await delivery(client, payload) == "duplicate", "\(field.field)")
            }
        }
    }

    @Test func theOrderPrefixIsCheckedOnBytes() throws {
        for accepted in ["QO-\u{301}x", "QO-\u{200D}1", "QO-\u{212A}"] {
            #expect(WebhookPayload.validateOrderID(accepted) == nil, "\(accepted.unicodeScalars.map(\.value))")
        }
        for refused in ["Q\u{39F}-1", "\u{FF31}O-1", "QO\u{2010}1", "QO-"] {
            #expect(WebhookPayload.validateOrderID(refused) != nil, "\(refused.unicodeScalars.map(\.value))")
        }
    }

    @Test func messageTypesAreMatchedOnBytes() {
        #expect(MessageType(rawValue: "message.received") == .received)
        #expect(MessageType(rawValue: "message.sent") == .sent)
        #expect(MessageType(rawValue: "message.sen\u{200B}t") == nil)
        #expect(MessageType(rawValue: "message.received\u{301}") == nil)
    }

    // MARK: Helpers

    private func message(order: String, text: String) -> [String: Any] {
        var payload = specExample()
        payload["order_id"] = order
        payload["text"] = text
        return payload
    }

    private func encodedPath(_ orderID: String) -> String {
        orderID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? orderID
    }

    private func texts(_ body: [String: Any]) -> [String] {
        (body["messages"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
    }

    private func delivery(_ client: some TestClientProtocol, _ payload: [String: Any]) async throws -> String? {
        let response = try await client.postMessage(payload)
        #expect(response.status == .ok)
        return try response.json()["delivery"] as? String
    }

    /// The raw bytes of an order's listing: JSON decoding into `String` would hide the difference.
    private func storedBytes(_ client: some TestClientProtocol, _ orderID: String) async throws -> [UInt8] {
        Array(try await client.getMessages(encodedPath(orderID)).body.readableBytesView)
    }
}

extension Array where Element == UInt8 {
    fileprivate func contains(_ other: [UInt8]) -> Bool {
        guard other.count <= count else { return false }
        return (0...(count - other.count)).contains { self[$0..<($0 + other.count)].elementsEqual(other) }
    }
}
