import Foundation

/// Reads `.env` files: `KEY=value` lines, as the usual dotenv tools write them.
///
/// - Blank lines and lines starting with `#` are skipped; a leading `export ` is allowed.
/// - Unquoted values are trimmed, and a ` #` starts a trailing comment.
/// - `'single quotes'` keep their contents literally.
/// - `"double quotes"` understand `\n`, `\r`, `\t`, `\"` and `\\`, and may span lines.
/// - The quotes themselves are never part of the value.
public enum DotEnv {
    /// A line that is not `KEY=value`. The value is never quoted back, as it may be a secret.
    public struct ParseError: Error, Hashable, CustomStringConvertible {
        /// The 1-based line number.
        public var line: Int
        /// What is wrong with the line.
        public var reason: String

        public var description: String { ".env line \(line): \(reason)" }
    }

    /// The variables of the file at `path`, or an empty set when the file does not exist.
    public static func load(path: String) throws -> [String: String] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try parse(String(decoding: data, as: UTF8.self))
    }

    /// The variables in `.env` file contents; a key given twice keeps its last value.
    public static func parse(_ contents: String) throws -> [String: String] {
        var variables: [String: String] = [:]
        var lines = Self.lines(of: contents)[...]
        var lineNumber = 0
        while let rawLine = lines.popFirst() {
            lineNumber += 1
            var line = rawLine.drop(while: \.isWhitespace)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export "), line.contains("=") {
                line = line.dropFirst("export ".count).drop(while: \.isWhitespace)
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw ParseError(line: lineNumber, reason: "expected KEY=value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard isValidKey(key) else {
                throw ParseError(line: lineNumber, reason: "the key is not a valid variable name")
            }
            let startLine = lineNumber
            var rest = line[line.index(after: equals)...].drop(while: { $0 == " " || $0 == "\t" })
            switch rest.first {
            case "'":
                rest = rest.dropFirst()
                guard let close = rest.firstIndex(of: "'") else {
                    throw ParseError(line: startLine, reason: "the single quote is not closed")
                }
                try requireOnlyComment(after: rest[rest.index(after: close)...], line: startLine)
                variables[key] = String(rest[..<close])
            case "\"":
                // A double-quoted value may go on over the following lines until its quote closes.
                var raw = String(rest.dropFirst())
                var parsed = unescapeUntilClosingQuote(raw[...])
                while parsed == nil {
                    guard let next = lines.popFirst() else {
                        throw ParseError(line: startLine, reason: "the double quote is not closed")
                    }
                    lineNumber += 1
                    raw += "\n" + next
                    parsed = unescapeUntilClosingQuote(raw[...])
                }
                if let (value, after) = parsed {
                    try requireOnlyComment(after: after, line: lineNumber)
                    variables[key] = value
                }
            default:
                var value = rest
                if let comment = value.range(of: " #") ?? value.range(of: "\t#") {
                    value = value[..<comment.lowerBound]
                }
                variables[key] = value.trimmingCharacters(in: .whitespaces)
            }
        }
        return variables
    }

    /// The lines of `contents`, ended by CRLF, LF or a lone CR, without their endings.
    ///
    /// Split on Unicode scalars, not `Character`s: `"\r\n"` is one `Character` in Swift, so
    /// splitting characters on `"\n"` never splits a CRLF file, and a value would run on
    /// over every following line.
    static func lines(of contents: String) -> [Substring] {
        let scalars = contents.unicodeScalars
        var lines: [Substring] = []
        var start = scalars.startIndex
        var index = start
        while index < scalars.endIndex {
            let scalar = scalars[index]
            guard scalar == "\n" || scalar == "\r" else {
                index = scalars.index(after: index)
                continue
            }
            lines.append(Substring(scalars[start..<index]))
            index = scalars.index(after: index)
            if scalar == "\r", index < scalars.endIndex, scalars[index] == "\n" { index = scalars.index(after: index) }
            start = index
        }
        lines.append(Substring(scalars[start..<scalars.endIndex]))
        return lines
    }

    private static func isValidKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else {
            return false
        }
        return key.unicodeScalars.allSatisfy { $0 == "_" || $0 == "." || ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0) }
    }

    /// The unescaped text up to the first unescaped `"`, and what follows it; `nil` when no quote closes.
    private static func unescapeUntilClosingQuote(_ text: Substring) -> (text: String, after: Substring)? {
        var value = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "\"" { return (value, text[text.index(after: index)...]) }
            if character == "\\", text.index(after: index) < text.endIndex {
                index = text.index(after: index)
                switch text[index] {
                case "n": value.append("\n")
                case "r": value.append("\r")
                case "t": value.append("\t")
                case "\"": value.append("\"")
                case "\\": value.append("\\")
                default: value.append("\\"); value.append(text[index])
                }
            } else {
                value.append(character)
            }
            index = text.index(after: index)
        }
        return nil
    }

    private static func requireOnlyComment(after text: Substring, line: Int) throws {
        let trailing = text.drop(while: { $0 == " " || $0 == "\t" })
        guard trailing.isEmpty || trailing.hasPrefix("#") else {
            throw ParseError(line: line, reason: "unexpected text after the closing quote")
        }
    }
}
