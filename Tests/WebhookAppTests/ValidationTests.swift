import JSON
import MessageStore
import Testing

@testable import WebhookApp

/// The validation rules, one by one, on the decoded JSON.
@Suite struct ValidationTests {
    func valid() -> [String: JSONValue] {
        [
            "order_id": .string("QO-123456"), "message_id": .string("MSG-001"), "from_name": .string("John Smith"),
            "text": .string("hello"), "created_date": .string("2025-10-28T10:30:00Z"), "message_type": .string("message.sent"),
            "timestamp": .string("2025-10-28T10:30:00.250+01:00"),
        ]
    }

    func problems(_ object: [String: JSONValue]) -> [String: String] {
        do {
            _ = try WebhookPayload.validate(.object(object), storedAt: 0)
            return [:]
        } catch {
            return Dictionary(error.fields.map { ($0.field, $0.message) }) { first, _ in first }
        }
    }

    func with(_ key: String, _ value: JSONValue?) -> [String: JSONValue] {
        var object = valid()
        object[key] = value
        return object
    }

    @Test func aMinimalValidMessageIsAccepted() throws {
        let stored = try WebhookPayload.validate(.object(valid()), storedAt: 1_761_647_405_000)
        #expect(stored.orderID == "QO-123456")
        #expect(stored.read == false)
        #expect(stored.orderNumber == nil && stored.attachments == nil)
        #expect(stored.messageType == .sent)
        #expect(stored.createdDate == "2025-10-28T10:30:00Z")
        #expect(stored.timestamp == 1_761_643_800_250)  // "2025-10-28T10:30:00.250+01:00"
        #expect(stored.partitionKey == "MESSAGE#QO-123456")
        #expect(stored.sortKey == "message.sent#MSG-001")
        #expect(stored.storedAt == "2025-10-28T10:30:05Z")
    }

    @Test(arguments: ["123456", "QO-", "qo-123", "Q0-123", " QO-1", ""])
    func orderIDMustStartWithQOAndHaveMore(_ orderID: String) {
        #expect(problems(with("order_id", .string(orderID)))["order_id"] != nil)
    }

    @Test func requiredFieldsAreRequiredAndNullCountsAsMissing() {
        for key in ["order_id", "message_id", "from_name", "text", "created_date", "message_type", "timestamp"] {
            #expect(problems(with(key, nil))[key] == "is required")
            #expect(problems(with(key, .null))[key] == "is required")
        }
    }

    @Test func emptyStringsAreRefusedExceptForText() {
        #expect(problems(with("message_id", .string("")))["message_id"] == "must not be empty")
        #expect(problems(with("from_name", .string("")))["from_name"] == "must not be empty")
        #expect(problems(with("text", .string(""))).isEmpty)
    }

    @Test func wrongJSONTypesAreNamed() {
        #expect(problems(with("order_id", .number(5)))["order_id"] == "must be a string, not number")
        #expect(problems(with("text", .array([])))["text"] == "must be a string, not array")
        #expect(problems(with("read", .string("true")))["read"] == "must be true or false, not string")
        #expect(problems(with("read", .number(1)))["read"] != nil)
        #expect(problems(with("order_number", .bool(true)))["order_number"] != nil)
        #expect(problems(with("attachments", .object([:])))["attachments"] != nil)
        #expect(problems(with("attachments", .array([.string("x")])))["attachments[0]"] != nil)
    }

    @Test(arguments: ["message.deleted", "MESSAGE.SENT", "", "received"])
    func messageTypeIsOneOfTwo(_ type: String) {
        #expect(problems(with("message_type", .string(type)))["message_type"] == #"must be "message.received" or "message.sent""#)
    }

    @Test func datesMustBeISO8601WithAZone() {
        #expect(problems(with("created_date", .string("2025-10-28T10:30:00")))["created_date"] != nil)
        #expect(problems(with("timestamp", .string("1730115000000")))["timestamp"] != nil)
        #expect(problems(with("timestamp", .number(1_730_115_000_000)))["timestamp"] != nil)
    }

    @Test func readAndOptionalsAreKept() throws {
        var object = valid()
        object["read"] = .bool(true)
        object["order_number"] = .string("ORD-2025-001")
        object["attachments"] = .array([
            .object(["_id": .string("A1"), "name": .string("a.pdf"), "url": .string("https://x/a.pdf"), "tag": .string("contract")]),
            .object(["_id": .string("A2"), "name": .string(""), "url": .string("http://x/b.pdf"), "extra": .number(1)]),
        ])
        let payload = try WebhookPayload.validate(.object(object), storedAt: 0)
        #expect(payload.read)
        #expect(payload.orderNumber == "ORD-2025-001")
        #expect(payload.attachments == [
            Attachment(id: "A1", name: "a.pdf", url: "https://x/a.pdf", tag: "contract"),
            Attachment(id: "A2", name: "", url: "http://x/b.pdf", tag: nil),
        ])
    }

    @Test func attachmentFieldsAreCheckedWithTheirPath() {
        let result = problems(with("attachments", .array([
            .object(["name": .string("a.pdf"), "url": .string("")]),
            .object(["_id": .string("A2"), "name": .number(1), "url": .string("https://x"), "tag": .bool(false)]),
        ])))
        #expect(Set(result.keys) == ["attachments[0]._id", "attachments[0].url", "attachments[1].name", "attachments[1].tag"])
    }

    @Test func aBodyThatIsNotAnObjectIsRefused() {
        let failure = #expect(throws: ValidationFailure.self) { try WebhookPayload.validate(.array([]), storedAt: 0) }
        #expect(failure?.fields.map(\.field) == ["body"])
    }
}

/// Bounds and hostile input, one rule at a time.
@Suite struct LimitsValidationTests {
    let base = ValidationTests()

    @Test(arguments: [
        ("order_id", "QO-" + String(repeating: "9", count: Limits.identifierBytes)),
        ("message_id", String(repeating: "m", count: Limits.identifierBytes + 1)),
        ("order_number", String(repeating: "n", count: Limits.identifierBytes + 1)),
        ("from_name", String(repeating: "é", count: Limits.fromNameBytes / 2 + 1)),
        ("text", String(repeating: "x", count: Limits.textBytes + 1)),
        ("created_date", "2025-10-28T10:30:00." + String(repeating: "0", count: 60) + "Z"),
    ])
    func aFieldOverItsBoundIsNamed(_ field: String, _ value: String) {
        let problems = base.problems(base.with(field, .string(value)))
        #expect(problems[field]?.hasPrefix("must be at most") == true, "\(problems)")
    }

    @Test func fieldsAtTheirBoundPass() {
        var object = base.valid()
        object["message_id"] = .string(String(repeating: "m", count: Limits.identifierBytes))
        object["text"] = .string(String(repeating: "x", count: Limits.textBytes))
        #expect(base.problems(object).isEmpty)
    }

    @Test func tooManyAttachmentsAreRefused() {
        let attachment = JSONValue.object(["_id": .string("A"), "name": .string("a"), "url": .string("https://x.example/a")])
        #expect(base.problems(base.with("attachments", .array(Array(repeating: attachment, count: Limits.attachmentCount)))).isEmpty)
        let problems = base.problems(base.with("attachments", .array(Array(repeating: attachment, count: Limits.attachmentCount + 1))))
        #expect(problems["attachments"]?.contains("at most \(Limits.attachmentCount)") == true)
    }

    @Test(arguments: [
        ("order_id", "QO-12\n34"), ("message_id", "MSG\u{0}1"), ("order_number", "ORD\u{7}"), ("message_id", "MSG\u{85}"),
        ("order_id", "QO-\u{1B}[31m"), ("message_id", "MSG\u{7F}"), ("order_id", "QO-\u{9F}"),
    ])
    func identifiersRefuseControlCharacters(_ field: String, _ value: String) {
        #expect(base.problems(base.with(field, .string(value)))[field] == "must not contain control characters")
    }

    @Test func identifiersKeepCharactersJustOutsideTheControlRanges() {
        #expect(base.problems(base.with("message_id", .string("MSG \u{20}~\u{7E}\u{A0}é\u{2028}"))).isEmpty)
    }

    @Test func anAttachmentIDRefusesControlCharactersButTextKeepsThem() {
        let attachment = JSONValue.object(["_id": .string("A\t1"), "name": .string("tab\there"), "url": .string("https://x.example/a")])
        #expect(base.problems(base.with("attachments", .array([attachment])))["attachments[0]._id"] == "must not contain control characters")
        #expect(base.problems(base.with("text", .string("line\nnext\ttab\u{0}nul\u{1B}esc"))).isEmpty)
        #expect(base.problems(base.with("from_name", .string("Zoë\u{200B} 😀"))).isEmpty)
    }

    @Test(arguments: ["ftp://files.example/a.pdf", "javascript:alert(1)", "file:///etc/passwd", "https://", "not a url", "//x.example/a", "mailto:a@b.c"])
    func attachmentURLsMustBeWebURLs(_ url: String) {
        let attachment = JSONValue.object(["_id": .string("A"), "name": .string("a"), "url": .string(url)])
        #expect(base.problems(base.with("attachments", .array([attachment])))["attachments[0].url"]?.hasPrefix("must be an http or https URL") == true)
    }

    /// RFC 3986, strictly: what a browser, a download job and a log reader would each read
    /// differently is refused, and the reason named.
    @Test(arguments: [
        ("https://example.com/\r\nSet-Cookie: a=b", "control character"), ("https://example.com/a\u{0}b", "control character"),
        ("https://example.com/a\u{85}b", "control character"), ("https://example.com/a\u{7F}", "control character"),
        ("https://example.com/a\tb", "control character"), ("https://example.com/a b", "a space"),
        ("https://example.com/a\u{A0}b", "outside ASCII"), ("https://example.com/a\u{2028}b", "outside ASCII"),
        ("https://exämple.com/", "outside ASCII"), (" https://example.com/", "a space"), ("https://example.com/\n", "control character"),
        ("http://example.com:99999/", "port"), ("http://example.com:0/", "port"), ("http://example.com:-1/", "port"),
        ("http://example.com:80a/", "port"), ("http://example.com:/", "port"), ("http://example.com:000080000/", "port"),
        ("http://example.com\\@evil.com/", "user information"), ("http://example.com\\.evil.com/", "host"),
        ("https://user:pw@example.com/", "user information"), ("https://example.com@evil.com/", "user information"),
        ("https://[::1/", "host"), ("https://[not-v6]/", "host"), ("https://[::1]x/", "host"), ("https:///path", "host"),
        ("https://exa<mple.com/", "host"), ("https://example.com/a%2", "path"), ("https://example.com/a%zz", "path"),
        ("https://example.com/a{b}", "path"), ("https://example.com/?q=\"x\"", "query"), ("https://example.com/#a#b", "fragment"),
        ("https://example.com/a|b", "path"), ("https://example.com/a^b", "path"), ("https://example.com/`", "path"),
        ("https:example.com/a", "absolute"), ("http:/example.com/a", "absolute"), ("ht!tp://example.com/", "scheme"),
    ])
    func attachmentURLsAreCheckedByRFC3986(_ url: String, _ reason: String) {
        let attachment = JSONValue.object(["_id": .string("A"), "name": .string("a"), "url": .string(url)])
        let problem = base.problems(base.with("attachments", .array([attachment])))["attachments[0].url"]
        #expect(problem?.hasPrefix("must be an http or https URL: ") == true, "\(url.unicodeScalars.map(\.value))")
        #expect(problem?.contains(reason) == true, "\(url.unicodeScalars.map(\.value)): \(problem ?? "accepted")")
    }

    @Test(arguments: [
        "https://example.com/files/document.pdf", "HTTP://EXAMPLE.COM/A", "https://x.example:8443/a%20b?sig=1&e=2#frag",
        "https://127.0.0.1:1/a", "http://[::1]:65535/x", "http://[2001:db8::7]/", "https://example.com", "https://example.com?x",
        "https://s3.amazonaws.com/bucket/key%2Fpart?X-Amz-Signature=ab%2B&X-Amz-Date=20251028T103000Z",
        "https://example.com/a:b@c/!$&'()*+,;=-._~?/?:@#/?", "https://xn--exmple-cua.com/%E2%9C%93",
    ])
    func webURLsPassAndAreStoredExactly(_ url: String) throws {
        let attachment = JSONValue.object(["_id": .string("A"), "name": .string("a"), "url": .string(url)])
        #expect(base.problems(base.with("attachments", .array([attachment]))).isEmpty)
        let payload = try WebhookPayload.validate(.object(base.with("attachments", .array([attachment]))), storedAt: 0)
        #expect(payload.attachments?.first?.url.hasSameUTF8(as: url) == true)
    }

    @Test(arguments: ["https://example.com/files/document.pdf", "HTTP://EXAMPLE.COM/A", "https://x.example:8443/a%20b?sig=1&e=2#frag"])
    func webURLsPass(_ url: String) {
        let attachment = JSONValue.object(["_id": .string("A"), "name": .string("a"), "url": .string(url)])
        #expect(base.problems(base.with("attachments", .array([attachment]))).isEmpty)
    }
}
