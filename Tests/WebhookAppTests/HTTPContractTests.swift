import Foundation
import HTTPTypes
import HummingbirdTesting
import MessageStore
import NIOCore
import StoreTestSupport
import Testing

@testable import WebhookApp

/// The spec's HTTP contract, through the real router, on every store.
@Suite struct HTTPContractTests {
    @Test(arguments: StoreUnderTest.available)
    func postAnswersTheSpecsReceipt(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            let response = try await client.postMessage(specExample())
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            let body = try response.json()
            #expect(Set(body.keys) == ["message", "order_id", "message_id", "message_type", "request_id", "response_time_ms", "delivery"])
            #expect(body["delivery"] as? String == "created")
            #expect(body["message"] as? String == "Message received and stored successfully")
            #expect(body["order_id"] as? String == "QO-123456")
            #expect(body["message_id"] as? String == "MSG-001")
            #expect(body["message_type"] as? String == "message.received")
            #expect(body["request_id"] as? String == response.headers[.requestID])
            #expect((body["response_time_ms"] as? Double ?? -1) >= 0)
            #expect(response.text.hasPrefix(#"{"message":"Message received and stored successfully","order_id":"QO-123456","#))
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func getAnswersTheStoredItemInTheSpecsShapeAndOrder(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            let before = Int64(Date().timeIntervalSince1970) * 1000
            #expect(try await client.postMessage(specExample()).status == .ok)
            let response = try await client.getMessages("QO-123456")
            #expect(response.status == .ok)

            let messages = try #require(try response.json()["messages"] as? [[String: Any]])
            let storedAt = try #require(messages.first?["storedAt"] as? String)
            let storedAtMilliseconds = try #require(ISO8601.unixMilliseconds(from: storedAt))
            #expect(storedAtMilliseconds >= before && storedAtMilliseconds <= before + 60_000)
            let expected = #"""
                {"order_id":"QO-123456","message_type":null,"count":1,"messages":[{"PK":"MESSAGE#QO-123456","SK":"message.received#MSG-001","orderId":"QO-123456","messageId":"MSG-001","messageType":"message.received","fromName":"John Smith","text":"Message content here","createdDate":"2025-10-28T10:30:00Z","read":false,"timestamp":1761647400000,"storedAt":"STORED_AT","orderNumber":"ORD-2025-001","attachments":[{"_id":"ATT-001","name":"document.pdf","url":"https://example.com/files/document.pdf","tag":"contract","archived":false}]}]}
                """#.replacingOccurrences(of: "STORED_AT", with: storedAt)
            #expect(response.text == expected)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func optionalAttributesAreLeftOutWhenNotSent(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            var payload = specExample()
            payload["order_number"] = nil
            payload["attachments"] = NSNull()
            payload["read"] = nil
            #expect(try await client.postMessage(payload).status == .ok)
            let item = try #require((try await client.getMessages("QO-123456").json()["messages"] as? [[String: Any]])?.first)
            #expect(Set(item.keys) == [
                "PK", "SK", "orderId", "messageId", "messageType", "fromName", "text", "createdDate", "read", "timestamp", "storedAt",
            ])
            #expect(item["read"] as? Bool == false)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func anUnknownOrderHasNoMessages(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            let response = try await client.getMessages("QO-999999")
            #expect(response.status == .ok)
            #expect(response.text == #"{"order_id":"QO-999999","message_type":null,"count":0,"messages":[]}"#)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func theTypeFilterKeepsOneTypeAndIsEchoed(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            var sent = specExample()
            sent["message_id"] = "MSG-002"
            sent["message_type"] = "message.sent"
            #expect(try await client.postMessage(specExample()).status == .ok)
            #expect(try await client.postMessage(sent).status == .ok)

            let all = try await client.getMessages("QO-123456").json()
            #expect(all["count"] as? Int == 2)
            let filtered = try await client.getMessages("QO-123456?message_type=message.sent").json()
            #expect(filtered["message_type"] as? String == "message.sent")
            #expect(filtered["count"] as? Int == 1)
            #expect((filtered["messages"] as? [[String: Any]])?.first?["SK"] as? String == "message.sent#MSG-002")
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func anInvalidTypeFilterOrOrderIDIs400(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            let badType = try await client.getMessages("QO-123456?message_type=message.deleted")
            #expect(badType.status == .badRequest)
            #expect(try badType.errorFields()["message_type"] != nil)
            let badOrder = try await client.getMessages("123456")
            #expect(badOrder.status == .badRequest)
            #expect(try badOrder.errorFields()["order_id"] != nil)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aPercentEncodedOrderIDIsDecoded(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            var payload = specExample()
            payload["order_id"] = "QO-12 34/5"
            #expect(try await client.postMessage(payload).status == .ok)
            let listing = try await client.getMessages("QO-12%2034%2F5").json()
            #expect(listing["order_id"] as? String == "QO-12 34/5")
            #expect(listing["count"] as? Int == 1)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aRedeliveryIsAcknowledgedAsADuplicateAndStoresNothingNew(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            #expect(try await client.postMessage(specExample()).json()["delivery"] as? String == "created")
            let before = try await client.getMessages("QO-123456").text
            try await Task.sleep(for: .milliseconds(1100))  // a later storedAt would show
            let again = try await client.postMessage(specExample())
            #expect(again.status == .ok)
            #expect(try again.json()["delivery"] as? String == "duplicate")
            #expect(try again.json()["message"] as? String == "Message received and stored successfully")
            #expect(try await client.getMessages("QO-123456").text == before)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func theNewestTimestampWinsWhateverTheArrivalOrder(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            var newer = specExample()
            newer["read"] = true
            newer["timestamp"] = "2025-10-28T10:35:00Z"
            var older = specExample()
            older["text"] = "the first draft"
            older["timestamp"] = "2025-10-28T10:31:00+00:00"

            #expect(try await client.postMessage(specExample()).json()["delivery"] as? String == "created")
            #expect(try await client.postMessage(newer).json()["delivery"] as? String == "updated")
            let stale = try await client.postMessage(older)
            #expect(stale.status == .ok)
            #expect(try stale.json()["delivery"] as? String == "stale")

            let listing = try await client.getMessages("QO-123456").json()
            let item = try #require((listing["messages"] as? [[String: Any]])?.first)
            #expect(listing["count"] as? Int == 1)
            #expect(item["read"] as? Bool == true)
            #expect(item["text"] as? String == "Message content here")
            #expect(item["timestamp"] as? Int64 == 1_761_647_700_000)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func textAndNamesRoundTripExactly(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            let text = "Line one\nLine two\r\n\ttab \u{0} NUL \"quoted\" \\ back/slash 😀 e\u{301} \u{2028} \u{7F} 中文"
            var payload = specExample()
            payload["text"] = text
            payload["from_name"] = "Zoë </script>"
            #expect(try await client.postMessage(payload).status == .ok)
            let item = try #require((try await client.getMessages("QO-123456").json()["messages"] as? [[String: Any]])?.first)
            #expect(item["text"] as? String == text)
            #expect(item["from_name"] == nil)
            #expect(item["fromName"] as? String == "Zoë </script>")
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func unknownFieldsAreIgnored(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            var payload = specExample()
            payload["brand_new_field"] = ["nested": [1, 2, 3]]
            payload["priority"] = 5
            #expect(try await client.postMessage(payload).status == .ok)
            let item = try #require((try await client.getMessages("QO-123456").json()["messages"] as? [[String: Any]])?.first)
            #expect(item["brand_new_field"] == nil && item["priority"] == nil)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func everyInvalidFieldIsNamedInOne400(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, store, _ in
            let payload: [String: Any] = [
                "order_id": "123456", "message_id": "", "from_name": 7, "created_date": "yesterday", "read": "no",
                "message_type": "message.deleted", "timestamp": "2025-10-28T10:30:00", "attachments": [["name": "x"]],
            ]
            let response = try await client.postMessage(payload)
            #expect(response.status == .badRequest)
            let body = try response.json()
            #expect(body["error"] as? String == "validation_failed")
            #expect(body["request_id"] as? String == response.headers[.requestID])
            #expect(Set(try response.errorFields().keys) == [
                "order_id", "message_id", "from_name", "text", "created_date", "read", "message_type", "timestamp",
                "attachments[0]._id", "attachments[0].url",
            ])
            #expect(try await store.messages(forOrder: "123456", type: nil).isEmpty)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func invalidJSONAndNonObjectsAre400(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            for body in ["{not json", "", "[1,2]", "\"text\"", "null", "{\"order_id\": \"QO-1\",}"] {
                let response = try await client.execute(
                    uri: "/webhook/messages", method: .post, headers: validAuthorization, body: ByteBuffer(string: body)
                )
                #expect(response.status == .badRequest, "body: \(body)")
                let code = try response.json()["error"] as? String
                #expect(code == "invalid_json" || code == "validation_failed", "body: \(body)")
            }
            let invalidUTF8 = try await client.execute(
                uri: "/webhook/messages", method: .post, headers: validAuthorization,
                body: ByteBuffer(bytes: Array(#"{"text": ""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8))
            )
            #expect(invalidUTF8.status == .badRequest)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aBodyOverTheLimitIs413(_ kind: StoreUnderTest) async throws {
        try await withService(kind, configure: { $0.http.maxBodyBytes = 4096 }) { client, _, _ in
            var payload = specExample()
            payload["text"] = String(repeating: "x", count: 5000)
            let response = try await client.postMessage(payload)
            #expect(response.status == .contentTooLarge)
            #expect(try response.json()["error"] as? String == "payload_too_large")
            payload["text"] = String(repeating: "x", count: 3000)
            #expect(try await client.postMessage(payload).status == .ok)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func everyWebhookRouteNeedsValidCredentials(_ kind: StoreUnderTest) async throws {
        // 14 failures from one address: keep the lockout (tested on its own) out of the way.
        try await withService(kind, configure: { $0.auth.failureLimit = 1000 }) { client, store, logs in
            let attempts: [HTTPFields] = [
                [:],
                basicAuthorization("webhook_user", "wrong"),
                basicAuthorization("someone_else", "webhook_pass"),
                basicAuthorization("", ""),
                [.authorization: "Bearer webhook_pass"],
                [.authorization: "Basic not-base64!"],
                [.authorization: "Basic " + Data("no-colon".utf8).base64EncodedString()],
            ]
            for headers in attempts {
                for response in [try await client.postMessage(specExample(), headers: headers), try await client.getMessages("QO-123456", headers: headers)] {
                    #expect(response.status == .unauthorized)
                    #expect(response.headers[.wwwAuthenticate] == #"Basic realm="qualia-webhook", charset="UTF-8""#)
                    #expect(try response.json()["error"] as? String == "unauthorized")
                }
            }
            #expect(try await store.messages(forOrder: "QO-123456", type: nil).isEmpty)
            #expect(logs.lines.contains { $0.contains("Authentication failed") })
        }
    }

    @Test func theBasicSchemeIsCaseInsensitiveAndOnlyBasicIsAccepted() async throws {
        try await withService(.sqlite, configure: { $0.auth.failureLimit = 1000 }) { client, _, _ in
            let token = Data("webhook_user:webhook_pass".utf8).base64EncodedString()
            for accepted in ["basic \(token)", "BASIC \(token)", "bAsIc   \(token)", "Basic \(token)\t "] {
                let response = try await client.getMessages("QO-123456", headers: [.authorization: accepted])
                #expect(response.status == .ok, "\(accepted)")
            }
            for refused in ["Basicx \(token)", "Basi \(token)", "Basic", "Basic   ", "\(token)", "Digest \(token)"] {
                let response = try await client.getMessages("QO-123456", headers: [.authorization: refused])
                #expect(response.status == .unauthorized, "\(refused)")
            }
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aCallersRequestIDIsHonouredAndEchoed(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, logs in
            var headers = validAuthorization
            headers[.requestID] = "qualia-delivery-42"
            let response = try await client.postMessage(specExample(), headers: headers)
            #expect(response.headers[.requestID] == "qualia-delivery-42")
            #expect(try response.json()["request_id"] as? String == "qualia-delivery-42")
            #expect(try logs.objects().contains { $0["request_id"] as? String == "qualia-delivery-42" && $0["message"] as? String == "Message stored" })

            headers[.requestID] = "forged\" \"level\":\"ERROR"
            let replaced = try await client.postMessage(specExample(), headers: headers)
            let generated = try #require(replaced.headers[.requestID])
            #expect(generated.count == 16 && generated.allSatisfy(\.isHexDigit))
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func logsCarryTheSpecsFieldsAndNoSecrets(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, logs in
            _ = try await client.postMessage(specExample())
            _ = try await client.postMessage(specExample(), headers: basicAuthorization("webhook_user", "a-wrong-secret"))
            let stored = try #require(try logs.objects().first { $0["message"] as? String == "Message stored" })
            for key in ["timestamp", "level", "request_id", "order_id", "message_id", "message_type", "response_time_ms"] {
                #expect(stored[key] != nil, "missing \(key)")
            }
            #expect(stored["level"] as? String == "INFO")
            #expect(stored["response_time_ms"] is Double || stored["response_time_ms"] is Int)
            let secrets = ["webhook_pass", "a-wrong-secret", validAuthorization[.authorization]!, "Authorization", "authorization"]
            for line in logs.lines {
                for secret in secrets { #expect(!line.contains(secret), "log line leaks a secret: \(line)") }
            }
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func anUnavailableStoreIs503WithRetryAfterAndNeverSuccess(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, store, _ in
            try await store.shutdown()
            let response = try await client.postMessage(specExample())
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] != nil)
            #expect(try response.json()["error"] as? String == "store_unavailable")
            #expect(!response.text.lowercased().contains("sqlite") && !response.text.contains("thread"))
            #expect(try await client.execute(uri: "/ready", method: .get).status == .serviceUnavailable)
            #expect(try await client.getMessages("QO-123456").status == .serviceUnavailable)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func probesAnswerWithoutCredentials(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .ok)
            #expect(health.text == #"{"status":"ok"}"#)
            let ready = try await client.execute(uri: "/ready", method: .get)
            #expect(ready.status == .ok)
            #expect(ready.text == #"{"status":"ready"}"#)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func unknownRoutesAnswerJSON404(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            let response = try await client.execute(uri: "/nowhere", method: .get)
            #expect(response.status == .notFound)
            #expect(try response.json()["error"] as? String == "not_found")
            #expect(response.headers[.requestID] != nil)
        }
    }
}

/// The largest valid message, end to end, on every store.
@Suite struct LargestMessageTests {
    /// A message with every field at its bound.
    static func largestPayload() -> [String: Any] {
        var payload = specExample()
        payload["order_id"] = "QO-" + String(repeating: "9", count: Limits.identifierBytes - 3)
        payload["message_id"] = String(repeating: "m", count: Limits.identifierBytes)
        payload["order_number"] = String(repeating: "n", count: Limits.identifierBytes)
        payload["from_name"] = String(repeating: "f", count: Limits.fromNameBytes)
        payload["text"] = String(repeating: "é", count: Limits.textBytes / 2)
        let url = "https://files.example/" + String(repeating: "u", count: Limits.urlBytes - 22)
        payload["attachments"] = (0..<Limits.attachmentCount).map { index in
            [
                "_id": String(format: "%03d", index) + String(repeating: "i", count: Limits.identifierBytes - 3),
                "name": String(repeating: "a", count: Limits.attachmentNameBytes), "url": url,
                "tag": String(repeating: "t", count: Limits.identifierBytes),
            ]
        }
        return payload
    }

    /// The item's size as DynamoDB counts it: attribute names plus values, UTF-8.
    static func dynamoDBItemSize(_ value: Any) -> Int {
        switch value {
        case let map as [String: Any]: return map.reduce(3) { $0 + $1.key.utf8.count + 1 + dynamoDBItemSize($1.value) }
        case let list as [Any]: return list.reduce(3) { $0 + 1 + dynamoDBItemSize($1) }
        case let string as String: return string.utf8.count
        case let number as NSNumber: return String(describing: number).utf8.count + 1
        default: return 1
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func theLargestValidMessageIsStoredWholeAndFitsADynamoDBItem(_ kind: StoreUnderTest) async throws {
        try await withService(kind, configure: { $0.http.maxBodyBytes = 1024 * 1024 }) { client, _, _ in
            let payload = Self.largestPayload()
            let response = try await client.postMessage(payload)
            #expect(response.status == .ok, "\(response.text.prefix(300))")
            let orderID = try #require(payload["order_id"] as? String)
            let listing = try await client.getMessages(orderID).json()
            let item = try #require((listing["messages"] as? [[String: Any]])?.first)
            #expect(item["text"] as? String == payload["text"] as? String)
            #expect((item["attachments"] as? [Any])?.count == Limits.attachmentCount)
            #expect(Self.dynamoDBItemSize(item) < 400 * 1024, "item is \(Self.dynamoDBItemSize(item)) bytes")
        }
    }
}

@Suite struct OpenAPIDocumentTests {
    @Test func theServedDocumentIsTheRepositorysOpenAPIFile() async throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/WebhookApp/Resources/openapi.yaml")
        let expected = try String(contentsOf: file, encoding: .utf8)
        try await withService(.sqlite) { client, _, _ in
            let response = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/yaml; charset=utf-8")
            #expect(response.text == expected)
            #expect(response.text.hasPrefix("openapi: 3.1.0"))
        }
    }
}
