extension String {
    /// Whether two strings hold the same UTF-8 bytes.
    ///
    /// Swift's `==` on `String` compares canonical equivalence: U+212A KELVIN SIGN equals `K`,
    /// and a precomposed `é` equals `e` followed by U+0301. Stores key their items by bytes, so
    /// identifiers and stored text are compared with this instead, everywhere: two strings
    /// that differ in any byte are two different identifiers, or two different texts.
    @inlinable
    public func hasSameUTF8(as other: String) -> Bool {
        utf8.count == other.utf8.count && utf8.elementsEqual(other.utf8)
    }

    /// Whether the string's UTF-8 bytes start with `prefix`'s, with no Unicode
    /// normalization and no grapheme breaking (`"QO-\u{301}x"` starts with `"QO-"`).
    @inlinable
    public func hasUTF8Prefix(_ prefix: String) -> Bool {
        utf8.starts(with: prefix.utf8)
    }
}

extension Optional<String> {
    /// ``Swift/String/hasSameUTF8(as:)`` for optional strings: two `nil`s are the same.
    func hasSameUTF8(as other: String?) -> Bool {
        switch (self, other) {
        case (nil, nil): return true
        case (let lhs?, let rhs?): return lhs.hasSameUTF8(as: rhs)
        default: return false
        }
    }
}
