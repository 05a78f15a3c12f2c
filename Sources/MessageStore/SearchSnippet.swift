/// The part of a search result to show: a stretch of one searched field around the first
/// match, cut into plain-text parts, each of which is or is not a match.
///
/// Nothing in it is markup: a client shows every part as text and marks the parts whose
/// ``Part/isMatch`` is true however it likes (bold, a highlight). A message whose text is
/// `<b>wire</b>` yields the parts `<b>`, `wire` (a match) and `</b>`, never a bold "wire".
/// Line breaks and other control characters become spaces; a cut end is shown as `…`.
public struct SearchSnippet: Sendable, Hashable {
    /// A field a search looks in.
    public enum Field: String, Sendable, Hashable, CaseIterable {
        case text
        case fromName = "from_name"
        case orderNumber = "order_number"
        case attachmentName = "attachment_name"
    }

    /// A run of the snippet's text.
    public struct Part: Sendable, Hashable {
        /// The text, to show as text.
        public var text: String
        /// Whether it is a match of one of the query's terms.
        public var isMatch: Bool

        /// Creates a part.
        public init(text: String, isMatch: Bool) {
            self.text = text
            self.isMatch = isMatch
        }
    }

    /// The field the snippet comes from.
    public var field: Field
    /// The snippet, in order.
    public var parts: [Part]

    /// About how many Unicode scalars of the field a snippet shows.
    public static let length = 160
    /// The ellipsis shown where the field was cut.
    public static let ellipsis = "…"

    /// Creates a snippet.
    public init(field: Field, parts: [Part]) {
        self.field = field
        self.parts = parts
    }

    /// The snippet of `message` for `query`: from the first searched field (text, sender,
    /// order number, attachment names) that contains one of its terms, around the first match.
    public init(of message: StoredMessage, for query: SearchQuery) {
        let fields = SearchQuery.searchedFields(of: message)
        for (field, text) in fields {
            let scalars = Array(text.unicodeScalars)
            let matches = Self.matches(of: query.foldedTerms, in: scalars.map(SearchQuery.fold))
            if !matches.isEmpty {
                self.init(field: field, parts: Self.parts(of: scalars, around: matches))
                return
            }
        }
        self.init(field: .text, parts: Self.parts(of: Array(message.text.unicodeScalars), around: []))
    }

    /// Every place a term occurs in `folded`, merged where they overlap or touch, in order.
    static func matches(of terms: [[Unicode.Scalar]], in folded: [Unicode.Scalar]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        for term in terms {
            var start = 0
            while let range = folded.firstRange(of: term, from: start) {
                ranges.append(range)
                start = range.lowerBound + 1
                if ranges.count >= 256 { break }
            }
        }
        var merged: [Range<Int>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }

    /// The parts of a stretch of `scalars` that starts a little before the first match, with
    /// each match (clipped to the stretch) its own part.
    static func parts(of scalars: [Unicode.Scalar], around matches: [Range<Int>]) -> [Part] {
        var start = 0
        var end = scalars.count
        if scalars.count > length {
            let first = matches.first?.lowerBound ?? 0
            start = max(0, min(first - length / 4, scalars.count - length))
            end = start + length
            // Cut at a space when one is near, so that words are whole.
            if start > 0, let space = scalars[start..<min(start + 16, max(first, start))].firstIndex(where: \.properties.isWhitespace) {
                start = space + 1
            }
            if end < scalars.count, let space = scalars[max(end - 16, start)..<end].lastIndex(where: \.properties.isWhitespace),
                space > (matches.first?.upperBound ?? start) {
                end = space
            }
        }
        var parts: [Part] = []
        func append(_ range: Range<Int>, isMatch: Bool) {
            guard !range.isEmpty else { return }
            var text = String.UnicodeScalarView()
            for scalar in scalars[range] {
                text.append(scalar.properties.generalCategory == .control ? " " : scalar)
            }
            parts.append(Part(text: String(text), isMatch: isMatch))
        }
        var cursor = start
        for match in matches {
            // A match wholly outside the stretch is not shown (and would make no range).
            guard match.lowerBound < end, match.upperBound > start else { continue }
            let clipped = max(match.lowerBound, start)..<min(match.upperBound, end)
            append(cursor..<clipped.lowerBound, isMatch: false)
            append(clipped, isMatch: true)
            cursor = clipped.upperBound
        }
        append(cursor..<end, isMatch: false)
        if start > 0 { prepend(ellipsis, to: &parts) }
        if end < scalars.count { appendText(ellipsis, to: &parts) }
        return parts
    }

    private static func prepend(_ text: String, to parts: inout [Part]) {
        if let first = parts.first, !first.isMatch { parts[0].text = text + first.text } else { parts.insert(Part(text: text, isMatch: false), at: 0) }
    }

    private static func appendText(_ text: String, to parts: inout [Part]) {
        if let last = parts.last, !last.isMatch { parts[parts.count - 1].text += text } else { parts.append(Part(text: text, isMatch: false)) }
    }
}
