import Foundation

/// One `Range: bytes=…` request against a file of known size (RFC 9110 §14.1.2).
///
/// Only a single range is served: a request for several gets the whole file (which the RFC
/// allows), as does a `Range` that is not a bytes range or does not parse.
enum ByteRange: Equatable {
    /// Serve the whole file.
    case whole
    /// Serve these bytes (offsets, both ends included, within the file).
    case range(ClosedRange<Int64>)
    /// The range lies outside the file: 416.
    case unsatisfiable

    static func parse(_ header: String?, size: Int64) -> ByteRange {
        guard let header else { return .whole }
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = trimmed.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        guard first.allSatisfy(\.isASCIIDigit), last.allSatisfy(\.isASCIIDigit), first.count <= 18, last.count <= 18 else { return .whole }
        if first.isEmpty {
            // A suffix: the last N bytes.
            guard let count = Int64(last) else { return .whole }
            guard count > 0, size > 0 else { return .unsatisfiable }
            return .range(max(0, size - count)...(size - 1))
        }
        guard let start = Int64(first) else { return .whole }
        guard start < size else { return .unsatisfiable }
        if last.isEmpty { return .range(start...(size - 1)) }
        guard let end = Int64(last) else { return .whole }
        guard end >= start else { return .whole }
        return .range(start...min(end, size - 1))
    }
}

extension Character {
    /// `0` to `9`, and nothing else that Unicode calls a digit.
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) && isASCII }
}
