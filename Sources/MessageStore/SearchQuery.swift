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
/// - Text is compared Unicode scalar by Unicode scalar, each lowercased on its own (see
///   ``fold(_:)``), as SQLite's trigram tokenizer folds it: `é` written as one scalar and as
///   `e` plus a combining accent are different text, as they are different bytes.
public struct SearchQuery: Sendable, Hashable {
    /// The terms, in the order typed, each once (compared ignoring case), ends trimmed.
    public let terms: [String]
    /// The terms as they are compared (``fold(_:)``), in the same order.
    public let foldedTerms: [[Unicode.Scalar]]

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
        var folded: [[Unicode.Scalar]] = []
        var seen: Set<[Unicode.Scalar]> = []
        var current = ""
        var inPhrase = false
        func finish() {
            let term = current.trimmingWhiteSpace()
            current = ""
            let foldedTerm = Self.fold(term)
            guard !term.isEmpty, seen.insert(foldedTerm).inserted else { return }
            terms.append(term)
            folded.append(foldedTerm)
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
        guard folded.contains(where: { $0.count >= Self.minimumIndexedTermLength }) else { throw .noTermLongEnough }
        self.terms = terms
        self.foldedTerms = folded
    }

    /// The terms that an index of three-scalar sequences can look up: those of at least
    /// ``minimumIndexedTermLength`` scalars (every query has one).
    public var indexedTerms: [String] {
        zip(terms, foldedTerms).filter { $0.1.count >= Self.minimumIndexedTermLength }.map(\.0)
    }

    /// Whether every term is in one of `fields`, ignoring case.
    public func matches(_ fields: [String]) -> Bool {
        let folded = fields.map(Self.fold)
        return foldedTerms.allSatisfy { term in folded.contains { $0.firstRange(of: term) != nil } }
    }

    /// Whether every term is in one of the message's searched fields (``searchedFields(of:)``).
    public func matches(_ message: StoredMessage) -> Bool {
        matches(Self.searchedFields(of: message).map(\.text))
    }

    /// The fields a search looks in, in the order a snippet prefers them: the text, the
    /// sender's name, the order number, then each attachment's name.
    public static func searchedFields(of message: StoredMessage) -> [(field: SearchSnippet.Field, text: String)] {
        var fields: [(SearchSnippet.Field, String)] = [(.text, message.text), (.fromName, message.fromName)]
        if let orderNumber = message.orderNumber { fields.append((.orderNumber, orderNumber)) }
        for attachment in message.attachments ?? [] { fields.append((.attachmentName, attachment.name)) }
        return fields
    }

    /// Text as it is compared: its Unicode scalars, each replaced by its lowercase when that is
    /// one scalar (so that positions in the folded text are positions in the text). SQLite's
    /// trigram tokenizer folds the same way, scalar by scalar.
    public static func fold(_ text: some StringProtocol) -> [Unicode.Scalar] {
        text.unicodeScalars.map(fold)
    }

    /// One scalar as it is compared: its lowercase when that is one scalar, else itself.
    public static func fold(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        if scalar.isASCII {
            return (0x41...0x5A).contains(scalar.value) ? Unicode.Scalar(scalar.value + 0x20)! : scalar
        }
        let lowercase = scalar.properties.lowercaseMapping.unicodeScalars
        return lowercase.count == 1 ? lowercase.first! : scalar
    }
}

extension Array where Element == Unicode.Scalar {
    /// Where `needle` first occurs at or after `start`, or `nil`.
    func firstRange(of needle: [Unicode.Scalar], from start: Int = 0) -> Range<Int>? {
        guard !needle.isEmpty, needle.count <= count - start else { return needle.isEmpty ? start..<start : nil }
        let first = needle[0]
        var index = start
        let last = count - needle.count
        while index <= last {
            if self[index] == first && self[index..<(index + needle.count)].elementsEqual(needle) {
                return index..<(index + needle.count)
            }
            index += 1
        }
        return nil
    }
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
