import Foundation
import JSON
import Testing

/// The parser that reads request bodies and stored attachments: what it accepts, what it
/// refuses, and agreement with Foundation's parser on valid and invalid texts.
@Suite struct JSONParserTests {
    private func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#" {"s": "a\"b\\c\/d\n\t\u00e9\ud83d\ude00", "n": -12.5e2, "z": 0, "t": true, "f": false, "x": null, "a": [1, [], {}]} "#)
        #expect(value == .object([
            "s": .string("a\"b\\c/d\n\té😀"), "n": .number(-1250), "z": .number(0), "t": .bool(true), "f": .bool(false), "x": .null,
            "a": .array([.number(1), .array([]), .object([:])]),
        ]))
    }

    @Test func keepsTextExactlyIncludingRawUnicode() throws {
        let text = "line one\nline two\t→ ✓ 日本語 👩‍👩‍👧 \u{7F}"
        var writerEscaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": writerEscaped += "\\n"
            case "\t": writerEscaped += "\\t"
            default: writerEscaped.unicodeScalars.append(scalar)
            }
        }
        #expect(try parse("\"\(writerEscaped)\"") == .string(text))
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "[+1]", "tru", "nul", "[1 2]",
        "\"a", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"tab\there\"", "{\"a\" 1}", "{1:2}",
        "[1e400]", "[-1e400]", "{} {}", "[NaN]", "[Infinity]",
    ])
    func refusesInvalidText(_ text: String) {
        #expect(throws: JSONParseError.self) { try parse(text) }
    }

    @Test func refusesInvalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xC0, 0xAF, 0x22]] {
            #expect(throws: JSONParseError.self) { try JSONValue.parse(bytes) }
        }
    }

    @Test func refusesNestingDeeperThanTheLimitWithoutCrashing() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try parse(deep) }
        let allowed = String(repeating: "[", count: JSONValue.maximumDepth) + String(repeating: "]", count: JSONValue.maximumDepth)
        #expect(try parse(allowed) != .null)
    }

    @Test func aRepeatedKeyKeepsItsLastValue() throws {
        #expect(try parse(#"{"a": 1, "a": 2}"#) == .object(["a": .number(2)]))
    }

    @Test func agreesWithFoundationOnRandomAndMutatedTexts() throws {
        var generator = SystemRandomNumberGenerator()
        let seeds = [
            #"{"order_id":"QO-1","message_id":"M","text":"a\nb","read":false,"attachments":[{"_id":"A","url":"https://x"}],"n":1.5e3}"#,
            #"[1,-2,3.25,true,false,null,"\u00e9",{"k":[{}]}]"#, #""plain""#, "  42  ",
        ]
        let alphabet = Array(#"{}[]:,"\ -+.eE0123456789abfnrtu"#.utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xA9, 0xFF]
        var compared = 0
        for _ in 0..<20_000 {
            var bytes = Array(seeds.randomElement(using: &generator)!.utf8)
            for _ in 0..<Int.random(in: 0...3, using: &generator) where !bytes.isEmpty {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[index] = alphabet.randomElement(using: &generator)!
                case 1: bytes.remove(at: index)
                default: bytes.insert(alphabet.randomElement(using: &generator)!, at: index)
                }
            }
            let ours = try? JSONValue.parse(bytes)
            let foundation = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            // Foundation accepts a few texts JSON does not (such as lone surrogates, which it
            // replaces); where it refuses, we must refuse too, and where both accept, agree.
            if foundation == nil { #expect(ours == nil, "accepted what Foundation refuses: \(Array(bytes))") }
            if let ours, let foundation {
                #expect(Self.matches(ours, foundation), "disagrees with Foundation on \(String(decoding: bytes, as: UTF8.self))")
                compared += 1
            }
        }
        #expect(compared > 1000)
    }

    /// Whether Foundation's parsed object holds the same value (its booleans are numbers).
    private static func matches(_ ours: JSONValue, _ foundation: Any) -> Bool {
        switch (ours, foundation) {
        case (.null, is NSNull): return true
        case (.bool(let bool), let number as NSNumber): return number.boolValue == bool
        case (.number(let double), let number as NSNumber): return number.doubleValue == double
        case (.string(let string), let other as String): return string == other
        case (.array(let array), let other as [Any]):
            return array.count == other.count && zip(array, other).allSatisfy { matches($0, $1) }
        case (.object(let object), let other as [String: Any]):
            return object.count == other.count && object.allSatisfy { key, value in other[key].map { matches(value, $0) } ?? false }
        default: return false
        }
    }
}
