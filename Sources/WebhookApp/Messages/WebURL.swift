#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks that a text is an absolute `http` or `https` URL by RFC 3986's grammar, strictly:
/// the text is stored and later handed to browsers, download jobs and log readers, so what
/// is accepted must mean one thing to all of them.
///
/// Accepted: `scheme "://" host [":" port] path ["?" query] ["#" fragment]`, where the scheme
/// is `http` or `https` (any case), the host a registered name, an IPv4 address or a
/// bracketed IPv6 address, the port a number from 1 to 65535, and every other character
/// one that RFC 3986 allows in its place (`%` only as `%XX`). So no control characters, no
/// white space, no backslash, no characters outside ASCII (they must be percent-encoded), and
/// no user information (`user@host`, which RFC 9110 forbids in http URLs and which hides
/// the real host from a reader: `http://example.com@evil.com/`).
enum WebURL {
    /// Why `text` is not a web URL ("its port is not a number from 1 to 65535"); `nil` when
    /// it is one.
    static func problem(in text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return "it has a space, a control character or a character outside ASCII (percent-encode them)"
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return "it has no scheme" }
        let scheme = String(decoding: bytes[..<colon], as: UTF8.self).lowercased()
        guard scheme == "http" || scheme == "https" else { return "its scheme is not http or https" }
        let rest = bytes[(colon + 1)...]
        guard rest.starts(with: "//".utf8) else { return "it is not absolute (scheme://host/…)" }

        let afterSlashes = rest.index(rest.startIndex, offsetBy: 2)
        let authorityEnd = rest[afterSlashes...].firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") })
            ?? rest.endIndex
        if let problem = authorityProblem(rest[afterSlashes..<authorityEnd]) { return problem }
        return pathQueryFragmentProblem(rest[authorityEnd...])
    }

    // MARK: Authority

    private static func authorityProblem(_ authority: ArraySlice<UInt8>) -> String? {
        guard !authority.contains(UInt8(ascii: "@")) else { return "it has user information (user@host)" }
        var host = authority
        var port: ArraySlice<UInt8>?
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { return "its host is not valid" }
            host = authority[authority.startIndex...close]
            let after = authority[(close + 1)...]
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":") else { return "its host is not valid" }
                port = after.dropFirst()
            }
            guard isIPv6Literal(host) else { return "its host is not valid" }
        } else {
            if let colon = authority.firstIndex(of: UInt8(ascii: ":")) {
                host = authority[..<colon]
                port = authority[(colon + 1)...]
            }
            guard !host.isEmpty, isRegisteredNameOrIPv4(host) else { return "its host is not valid" }
        }
        if let port {
            guard !port.isEmpty, port.count <= 5, port.allSatisfy(isDigit), let number = Int(String(decoding: port, as: UTF8.self)),
                (1...65535).contains(number)
            else { return "its port is not a number from 1 to 65535" }
        }
        return nil
    }

    /// RFC 3986's `reg-name` (which covers IPv4 addresses too): unreserved characters,
    /// sub-delimiters and `%XX`.
    private static func isRegisteredNameOrIPv4(_ host: ArraySlice<UInt8>) -> Bool {
        isMadeOf(host) { isUnreserved($0) || isSubDelimiter($0) }
    }

    /// `[` IPv6 address `]`, as the system's parser reads IPv6 addresses (no zone, no IPvFuture).
    private static func isIPv6Literal(_ host: ArraySlice<UInt8>) -> Bool {
        guard host.count > 2, host.last == UInt8(ascii: "]") else { return false }
        let address = String(decoding: host.dropFirst().dropLast(), as: UTF8.self)
        var storage = in6_addr()
        return inet_pton(AF_INET6, address, &storage) == 1
    }

    // MARK: Path, query, fragment

    private static func pathQueryFragmentProblem(_ text: ArraySlice<UInt8>) -> String? {
        let fragmentStart = text.firstIndex(of: UInt8(ascii: "#")) ?? text.endIndex
        let queryStart = text[..<fragmentStart].firstIndex(of: UInt8(ascii: "?")) ?? fragmentStart
        let isPathCharacter: (UInt8) -> Bool = { isPathCharacterOrSlash($0) }
        let isQueryCharacter: (UInt8) -> Bool = { isPathCharacterOrSlash($0) || $0 == UInt8(ascii: "?") }
        guard isMadeOf(text[..<queryStart], isPathCharacter) else { return "its path has a character that must be percent-encoded" }
        if queryStart < fragmentStart, !isMadeOf(text[(queryStart + 1)..<fragmentStart], isQueryCharacter) {
            return "its query has a character that must be percent-encoded"
        }
        if fragmentStart < text.endIndex, !isMadeOf(text[(fragmentStart + 1)...], isQueryCharacter) {
            return "its fragment has a character that must be percent-encoded"
        }
        return nil
    }

    private static func isPathCharacterOrSlash(_ byte: UInt8) -> Bool {
        isUnreserved(byte) || isSubDelimiter(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "@") || byte == UInt8(ascii: "/")
    }

    // MARK: Character classes

    /// Whether `text` is made only of bytes that `allowed` accepts and of `%XX` escapes.
    private static func isMadeOf(_ text: ArraySlice<UInt8>, _ allowed: (UInt8) -> Bool) -> Bool {
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == UInt8(ascii: "%") {
                guard index + 2 < text.endIndex, isHexDigit(text[index + 1]), isHexDigit(text[index + 2])
                else { return false }
                index += 3
            } else {
                guard allowed(text[index]) else { return false }
                index += 1
            }
        }
        return true
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || "-._~".utf8.contains(byte)
    }

    private static func isSubDelimiter(_ byte: UInt8) -> Bool { "!$&'()*+,;=".utf8.contains(byte) }
}
