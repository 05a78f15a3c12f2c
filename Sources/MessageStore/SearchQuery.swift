/// What someone typed into a search box, read as a list of terms that must all match
/// (issue 13). Nothing they type is query syntax: quotes group words into one term, and
/// everything else (`*`, `-`, parentheses, `AND`, `NEAR`, …) is text to look for.
///
/// - A term matches a message when one of its searched fields (`text`, `from_name`,
///   `order_number`, attachment names) contains it, ignoring case: so a word, a prefix of a
///   word (`clos` finds "closing") and any substring of three or more characters all match.
/// - Words are separated by white space (tabs and line breaks included); `"a quoted phrase"`
///   is one term, spaces and all. An unmatched quote runs to the end of the query.
/// - Every term must match. Terms of one or two characters are matched too, but a query needs
///   one of at least ``minimumIndexedTermLength`` characters: that is what an index of
///   three-character sequences (SQLite's trigram tokenizer) can look up.
public struct SearchQuery: Sendable, Hashable {
    /// The terms, in the order typed, each once (compared ignoring case), ends trimmed.
    public private(set) var terms: [String]

    /// The most characters a query may have.
    public static let maximumCharacters = 256
    /// The most terms a query may have: each costs a lookup.
    public static let maximumTerms = 16
    /// The shortest term an index of three-character sequences can find.
    public static let minimumIndexedTermLength = 3

    /// Why a query cannot be run; each is answered `400 invalid_query` with its description.
    public enum Problem: Error, Sendable, Hashable, CustomStringConvertible {
        case empty
        case tooLong
        case controlCharacter
        case tooManyTerms
        case noTermLongEnough

        public var description: String {
            switch self {
            case .empty: "The query has nothing to search for."
            case .tooLong: "The query is longer than \(SearchQuery.maximumCharacters) characters."
            case .controlCharacter: "The query contains a control character."
            case .tooManyTerms: "The query has more than \(SearchQuery.maximumTerms) words or phrases."
            case .noTermLongEnough: "The query needs at least one word or phrase of \(SearchQuery.minimumIndexedTermLength) or more characters."
            }
        }
    }

    /// Reads a query as typed.
    /// - Throws: ``Problem`` when it cannot be run.
    public init(parsing text: String) throws(Problem) {
        guard text.count <= Self.maximumCharacters else { throw .tooLong }
        var terms: [String] = []
        var seen: Set<String> = []
        var current = ""
        var inPhrase = false
        func finish() {
            let term = current.trimmingWhiteSpace()
            current = ""
            guard !term.isEmpty, seen.insert(Self.folded(term)).inserted else { return }
            terms.append(term)
        }
        for character in text {
            if character == "\"" {
                finish()
                inPhrase.toggle()
            } else if character.isSearchWhiteSpace {
                if inPhrase { current.append(" ") } else { finish() }
            } else if character.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                throw .controlCharacter
            } else {
                current.append(character)
            }
        }
        finish()
        guard !terms.isEmpty else { throw .empty }
        guard terms.count <= Self.maximumTerms else { throw .tooManyTerms }
        guard terms.contains(where: { $0.count >= Self.minimumIndexedTermLength }) else { throw .noTermLongEnough }
        self.terms = terms
    }

    /// Whether every term is in one of `fields`, ignoring case.
    public func matches(_ fields: [String]) -> Bool {
        let folded = fields.map(Self.folded)
        return terms.allSatisfy { term in
            let needle = Self.folded(term)
            return folded.contains { $0.contains(needle) }
        }
    }

    /// Text as it is compared: lowercased, character by character.
    public static func folded(_ text: String) -> String { text.lowercased() }
}

extension Character {
    /// White space that separates words in a query (spaces, tabs, line breaks).
    fileprivate var isSearchWhiteSpace: Bool { isWhitespace }
}

extension String {
    fileprivate func trimmingWhiteSpace() -> String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}
