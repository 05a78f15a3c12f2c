import MessageStore
import Testing

/// Snippets: the stretch around the first match, every match in it marked, never markup, and
/// never a crash, whatever the text and the terms.
@Suite struct SearchSnippetTests {
    static func message(text: String, from: String = "Jane Doe", attachments: [String] = []) -> StoredMessage {
        StoredMessage(
            orderID: "QO-1", messageID: "M-1", messageType: .received, fromName: from, text: text, createdDate: "2025-10-28T10:30:00Z",
            read: false, timestamp: 1, storedAt: "2025-10-28T10:30:05Z",
            attachments: attachments.isEmpty ? nil : attachments.map { Attachment(id: $0, name: $0, url: "https://example.com") }
        )
    }

    static func snippet(_ text: String, _ query: String) throws -> SearchSnippet {
        SearchSnippet(of: message(text: text), for: try SearchQuery(parsing: query))
    }

    @Test func theMatchesAreMarkedAndTheRestIsPlainText() throws {
        let snippet = try Self.snippet("Wire of $1,250.00 <b>received</b>\nfor the CLOSING", "wire closing")
        #expect(snippet.field == .text)
        #expect(snippet.parts == [
            .init(text: "Wire", isMatch: true), .init(text: " of $1,250.00 <b>received</b> for the ", isMatch: false),
            .init(text: "CLOSING", isMatch: true),
        ])
    }

    @Test func aLongTextIsCutAroundTheFirstMatchAndMatchesOutsideAreLeftOut() throws {
        // The regression: a second match far past the stretch made an inverted range and trapped.
        let text = "position " + String(repeating: "x", count: 180) + " position " + String(repeating: "y", count: 300) + " position"
        let snippet = try Self.snippet(text, "osi")
        #expect(snippet.parts.filter(\.isMatch).map(\.text) == ["osi"])
        #expect(snippet.parts.last?.text.hasSuffix(SearchSnippet.ellipsis) == true)
        let late = try Self.snippet(String(repeating: "a ", count: 200) + "closing " + String(repeating: "b ", count: 200) + "closing", "closing")
        #expect(late.parts.first?.text.hasPrefix(SearchSnippet.ellipsis) == true)
        #expect(late.parts.filter(\.isMatch).map(\.text) == ["closing"])
    }

    @Test func otherFieldsGiveTheSnippetWhenTheTextHasNoMatch() throws {
        let snippet = SearchSnippet(of: Self.message(text: "hello", attachments: ["Wire-Instructions.pdf"]), for: try SearchQuery(parsing: "instructions"))
        #expect(snippet.field == .attachmentName)
        #expect(snippet.parts.map(\.text).joined() == "Wire-Instructions.pdf")
    }

    /// Random texts and terms: never a trap, parts that join to a stretch of the text (control
    /// characters as spaces, ellipses at cut ends), no empty part, and a matching term marked.
    @Test func anyTextAndTermsGiveAWellFormedSnippet() throws {
        let alphabet: [Unicode.Scalar] = ["a", "b", "c", "A", " ", "\n", "\t", "é", "😀", "\u{301}", "<", "\"", "x"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...600, using: &generator)
            let text = String(String.UnicodeScalarView((0..<length).map { _ in alphabet.randomElement(using: &generator)! }))
            let termLength = Int.random(in: 3...5, using: &generator)
            let term = String(String.UnicodeScalarView((0..<termLength).map { _ in ["a", "b", "c", "x"].randomElement(using: &generator)! }))
            guard let query = try? SearchQuery(parsing: term + " " + term.uppercased()) else { continue }
            let snippet = SearchSnippet(of: Self.message(text: text), for: query)
            let noEmptyPart = snippet.parts.allSatisfy { !$0.text.isEmpty }
            #expect(noEmptyPart, "\(text.debugDescription) \(term)")
            // Scalar by scalar: a cut may fall between a letter and its combining accent.
            var part = Array(snippet.parts.map(\.text).joined().unicodeScalars)
            let ellipsis = SearchSnippet.ellipsis.unicodeScalars.first!
            if part.first == ellipsis { part.removeFirst() }
            if part.last == ellipsis { part.removeLast() }
            let whole = text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }
            let isStretch = part.count <= whole.count && (0...(whole.count - part.count)).contains { whole[$0..<($0 + part.count)].elementsEqual(part) }
            #expect(isStretch, "\(text.debugDescription) \(term)")
            let marked = snippet.parts.contains(where: \.isMatch)
            if query.matches([text]) { #expect(marked, "\(text.debugDescription) \(term)") }
        }
    }
}
