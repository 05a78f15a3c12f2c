import MessageStore
import Testing

/// How a search box's text becomes terms: never query syntax, always the terms meant.
@Suite struct SearchQueryTests {
    @Test(arguments: [
        ("wire transfer", ["wire", "transfer"]),
        ("  \"closing date\"  smith ", ["closing date", "smith"]),
        ("\"unmatched quote runs on", ["unmatched quote runs on"]),
        ("NEAR(a b) -draft foo* AND bar", ["NEAR(a", "b)", "-draft", "foo*", "AND", "bar"]),
        ("Smith smith SMITH", ["Smith"]),
        ("tab\tand\nnew line", ["tab", "and", "new", "line"]),
        ("\"\" \"  \" \"$1,250.00\"", ["$1,250.00"]),
        ("QO ab cde", ["QO", "ab", "cde"]),
        ("É clé 😀😀😀", ["É", "clé", "😀😀😀"]),
    ])
    func termsAreWhatWasTyped(_ text: String, _ expected: [String]) throws {
        #expect(try SearchQuery(parsing: text).terms == expected)
    }

    @Test(arguments: [
        ("", SearchQuery.Problem.empty),
        ("   \"\"  ", .empty),
        ("ab cd", .noTermLongEnough),
        ("*", .noTermLongEnough),
        ("wire\u{0}transfer", .controlCharacter),
        ("wire\u{7}", .controlCharacter),
        (String(repeating: "a", count: 257), .tooLong),
        ((0..<17).map { "word\($0)" }.joined(separator: " "), .tooManyTerms),
    ])
    func unusableQueriesAreRefusedWithTheReason(_ text: String, _ problem: SearchQuery.Problem) {
        #expect(throws: problem) { try SearchQuery(parsing: text) }
    }

    @Test func everyTermMustBeInSomeFieldIgnoringCase() throws {
        let fields = ["Closing scheduled for Friday", "John Smith", "ORD-2025-001", "wire-instructions.pdf"]
        #expect(try SearchQuery(parsing: "clos smith").matches(fields))
        #expect(try SearchQuery(parsing: "\"scheduled for\" ORD-2025").matches(fields))
        #expect(try SearchQuery(parsing: "instructions.pdf fri").matches(fields))
        #expect(try !SearchQuery(parsing: "closing jones").matches(fields))
        #expect(try !SearchQuery(parsing: "\"for scheduled\"").matches(fields))
        #expect(try !SearchQuery(parsing: "-draft closing").matches(fields), "a minus is text, not an exclusion")
    }

    /// Hostile text: never a crash, and when it parses, terms that are non-empty, trimmed, at
    /// most the allowed number, with one long enough to look up.
    @Test func anythingTypedParsesIntoUsableTermsOrAReason() {
        let alphabet: [Character] = ["a", "B", "é", "😀", " ", "\t", "\n", "\"", "*", "-", "(", ")", ":", "^", "'", "\\", "\u{0}", "\u{1B}", "N", "E", "A", "R"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let length = Int.random(in: 0...40, using: &generator)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            do {
                let query = try SearchQuery(parsing: text)
                #expect(!query.terms.isEmpty && query.terms.count <= SearchQuery.maximumTerms, "\(text.debugDescription)")
                #expect(query.terms.allSatisfy { !$0.isEmpty && $0.first?.isWhitespace == false && $0.last?.isWhitespace == false })
                #expect(query.foldedTerms.contains { $0.count >= SearchQuery.minimumIndexedTermLength })
                #expect(query.terms.allSatisfy { !$0.contains("\"") }, "a quote is never part of a term")
            } catch {
                // Refused with a reason; that is one of the allowed answers.
            }
        }
    }
}
