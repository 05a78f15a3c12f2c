import Foundation
import MessageStore
import JSON
import HTTPTypes
import HummingbirdTesting
import NIOCore
import StoreTestSupport
import Testing

@testable import WebhookApp

/// SplitMix64: a small seeded generator, so a failing case can be replayed with FUZZ_SEED.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random and mutated request bodies for the decoder and validator.
struct BodyFuzzer {
    var random: SeededGenerator

    static let seed: UInt64 = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)

    static let interestingStrings = [
        "", " ", "QO-", "QO-1", "message.received", "message.sent", "2025-10-28T10:30:00Z", "2025-02-30T00:00:00Z",
        "\u{0}", "\u{1B}[31m", "\n", "\"", "\\", "😀", "e\u{301}", "\u{FFFF}", "\u{202E}", "https://x.example/a", "javascript:x",
        String(repeating: "A", count: 300), "null", "true", "9999999999999999999999", "-0", "1e400",
    ]
    static let fields = ["order_id", "message_id", "order_number", "from_name", "text", "created_date", "read", "attachments", "message_type", "timestamp", "_id", "url"]

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

    mutating func string() -> String {
        if int(0...2) == 0 { return Self.interestingStrings[int(0...Self.interestingStrings.count - 1)] }
        let scalars = (0..<int(0...20)).compactMap { _ in Unicode.Scalar(UInt32(int(0...0x2FFFF))) }
        return String(String.UnicodeScalarView(scalars))
    }

    mutating func value(depth: Int = 0) -> Any {
        switch int(0...(depth > 3 ? 4 : 6)) {
        case 0: return NSNull()
        case 1: return int(0...1) == 0
        case 2: return int(0...1) == 0 ? int(Int.min / 2...Int.max / 2) : Double(int(-1000...1000)) / 7
        case 3, 4: return string()
        case 5: return (0..<int(0...4)).map { _ in value(depth: depth + 1) }
        default:
            var object: [String: Any] = [:]
            for _ in 0..<int(0...5) { object[int(0...1) == 0 ? Self.fields[int(0...Self.fields.count - 1)] : string()] = value(depth: depth + 1) }
            return object
        }
    }

    /// One body: random bytes, random JSON, or the spec's example with a mutation.
    mutating func body() -> [UInt8] {
        switch int(0...9) {
        case 0:
            return (0..<int(0...200)).map { _ in UInt8(int(0...255)) }
        case 1:
            return Array((try? JSONSerialization.data(withJSONObject: [value()], options: [.fragmentsAllowed])) ?? Data())
        default:
            var payload = specExample()
            for _ in 0..<int(1...3) {
                let field = Self.fields[int(0...Self.fields.count - 1)]
                switch int(0...3) {
                case 0: payload[field] = nil
                case 1: payload[field] = value()
                case 2: payload[field] = string()
                default:
                    var attachments = payload["attachments"] as? [[String: Any]] ?? []
                    if !attachments.isEmpty { attachments[0][["_id", "name", "url", "tag"][int(0...3)]] = value() }
                    payload["attachments"] = attachments
                }
            }
            var bytes = Array((try? JSONSerialization.data(withJSONObject: payload)) ?? Data())
            switch int(0...5) {
            case 0 where !bytes.isEmpty: bytes = Array(bytes.prefix(int(0...bytes.count - 1)))  // truncated
            case 1 where !bytes.isEmpty: bytes[int(0...bytes.count - 1)] = UInt8(int(0...255))  // one byte flipped
            case 2 where !bytes.isEmpty: bytes.insert(contentsOf: [0xC3, 0x28], at: int(0...bytes.count - 1))  // invalid UTF-8
            default: break
            }
            return bytes
        }
    }
}

@Suite struct FuzzTests {
    @Test func theDecoderAndValidatorNeverCrashOnRandomOrMutatedBodies() {
        var fuzzer = BodyFuzzer(random: SeededGenerator(seed: BodyFuzzer.seed))
        var accepted = 0
        for _ in 0..<20_000 {
            let body = fuzzer.body()
            guard let json = try? JSONValue.parse(body) else { continue }
            if let payload = try? WebhookPayload.validate(json, storedAt: 0) {
                accepted += 1
                #expect(payload.orderID.hasPrefix("QO-") && !payload.messageID.isEmpty, "seed \(BodyFuzzer.seed)")
            }
        }
        #expect(accepted > 0, "the mutations should leave some bodies valid (seed \(BodyFuzzer.seed))")
    }

    @Test(arguments: StoreUnderTest.available)
    func noBodyMakesTheServiceAnswer5xx(_ kind: StoreUnderTest) async throws {
        let seed = BodyFuzzer.seed
        try await withService(kind, configure: { $0.auth.failureLimit = 1_000_000 }) { client, _, _ in
            var fuzzer = BodyFuzzer(random: SeededGenerator(seed: seed))
            var statuses: [Int: Int] = [:]
            for _ in 0..<600 {
                let body = fuzzer.body()
                let response = try await client.execute(uri: "/webhook/messages", method: .post, headers: validAuthorization, body: ByteBuffer(bytes: body))
                statuses[response.status.code, default: 0] += 1
                #expect(response.status.code < 500, "seed \(seed): \(String(decoding: body, as: UTF8.self).prefix(200)) → \(response.status)")
                if response.status == .ok {
                    let json = try response.json()
                    let order = try #require(json["order_id"] as? String)
                    let listing = try await client.getMessages(order.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? order)
                    #expect(listing.status == .ok, "seed \(seed): a stored message must be listable")
                }
            }
            #expect(statuses[200, default: 0] > 0 && statuses[400, default: 0] > 0, "\(statuses)")
        }
    }
}
