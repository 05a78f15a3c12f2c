#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which attachment URLs the archiver may fetch (issue 14): outbound requests are an attack
/// surface (SSRF), so only hosts named in `ATTACHMENT_ALLOWED_HOSTS` are fetched, and an
/// address that is not public is refused unless it is listed itself.
///
/// - An entry is an exact host name (`files.qualia.com`), a suffix (`*.qualia.com`: any name
///   that ends in `.qualia.com`, not `qualia.com` itself), or an IP address literal
///   (`127.0.0.1`, `::1`). Names compare without case and without a trailing dot.
/// - A name passes ``allowsName(_:)`` only when listed. Every address it resolves to must then
///   pass ``allowsAddress(_:)``: a public address, or one listed as a literal. So a listed name
///   that resolves to a loopback, private, link-local or metadata address is refused, unless
///   that address is listed explicitly (the tests list `127.0.0.1`).
/// - Without `ATTACHMENT_ALLOWED_HOSTS` nothing is allowed: archiving is off.
struct AttachmentHostPolicy: Sendable, Equatable {
    /// Exact names, lowercased, without a trailing dot.
    private(set) var names: Set<String> = []
    /// Suffixes, lowercased, each starting with a dot (`.qualia.com`).
    private(set) var suffixes: [String] = []
    /// Addresses listed as literals.
    private(set) var addresses: Set<IPAddress> = []

    /// Why a list cannot be read; the message names the entry.
    struct Problem: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    /// Allows nothing: archiving is off.
    init() {}

    /// Reads a comma-separated list (spaces around entries are ignored).
    /// - Throws: ``Problem`` for an entry that is neither a name, a `*.suffix` nor an address.
    init(parsing list: String) throws(Problem) {
        for raw in list.split(separator: ",") {
            let entry = Self.normalized(raw.trimmingSpaces())
            guard !entry.isEmpty else { continue }
            if let address = IPAddress(entry) {
                addresses.insert(address)
            } else if entry.hasPrefix("*.") {
                let suffix = String(entry.dropFirst(1))
                guard Self.isHostName(String(suffix.dropFirst())) else { throw Problem(description: "'\(entry)' is not a *.suffix of a host name") }
                suffixes.append(suffix)
            } else {
                guard Self.isHostName(entry) else { throw Problem(description: "'\(entry)' is not a host name, a *.suffix or an IP address") }
                names.insert(entry)
            }
        }
    }

    /// Whether archiving is on: something is listed.
    var isEmpty: Bool { names.isEmpty && suffixes.isEmpty && addresses.isEmpty }

    /// Whether a URL's host (a name or an address literal) is listed.
    func allowsName(_ host: String) -> Bool {
        let host = Self.normalized(host)
        if let address = IPAddress(host) { return addresses.contains(address) }
        return names.contains(host) || suffixes.contains { host.hasSuffix($0) && host.utf8.count > $0.utf8.count }
    }

    /// Whether the archiver may connect to `address`, which a listed host resolved to: a
    /// public address, or one listed as a literal.
    func allowsAddress(_ address: IPAddress) -> Bool {
        addresses.contains(address) || address.isPublic
    }

    /// A name or literal as compared: lowercased (ASCII), without a trailing dot or IPv6 brackets.
    static func normalized(_ host: some StringProtocol) -> String {
        var text = String(host).lowercased()
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        while text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// Whether `text` is a DNS host name: labels of letters, digits and hyphens, 1 to 63
    /// bytes each, not starting or ending with a hyphen; 253 bytes at most.
    static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let bytes = Array(label.utf8)
            guard (1...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else { return false }
            return bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") }
        }
    }
}

/// An IPv4 or IPv6 address, and whether it is public (reachable on the internet) or one of
/// the ranges an outbound fetch must not reach unasked: loopback, private, link-local (cloud
/// metadata at 169.254.169.254 and fd00:ec2::254 among them), shared (CGNAT), unspecified,
/// multicast, reserved and documentation ranges. An IPv4-mapped IPv6 address is judged as its
/// IPv4 address.
enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6([UInt8])

    /// Parses a literal (`10.0.0.1`, `::1`, `::ffff:127.0.0.1`); `nil` for anything else,
    /// including shortened IPv4 forms (`127.1`) that some resolvers accept.
    init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        // IPv4-mapped (::ffff:a.b.c.d): the IPv4 address it is.
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            self = .v4(bytes[12..<16].reduce(0) { $0 << 8 | UInt32($1) })
        } else {
            self = .v6(bytes)
        }
    }

    var description: String {
        switch self {
        case .v4(let value): return (0..<4).map { String(value >> (24 - 8 * $0) & 0xFF) }.joined(separator: ".")
        case .v6(let bytes):
            return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
        }
    }

    /// Whether the address is on the public internet: none of the ranges above.
    var isPublic: Bool {
        switch self {
        case .v4(let value):
            let blocked: [(UInt32, Int)] = [
                (0x0000_0000, 8),  // "this network", 0.0.0.0
                (0x0A00_0000, 8),  // private
                (0x6440_0000, 10),  // shared address space (CGNAT)
                (0x7F00_0000, 8),  // loopback
                (0xA9FE_0000, 16),  // link-local, cloud metadata 169.254.169.254
                (0xAC10_0000, 12),  // private
                (0xC000_0000, 24),  // IETF protocol assignments
                (0xC000_0200, 24),  // documentation
                (0xC0A8_0000, 16),  // private
                (0xC612_0000, 15),  // benchmarking
                (0xC633_6400, 24),  // documentation
                (0xCB00_7100, 24),  // documentation
                (0xE000_0000, 4),  // multicast
                (0xF000_0000, 4),  // reserved, broadcast
            ]
            return !blocked.contains { value >> (32 - $0.1) == $0.0 >> (32 - $0.1) }
        case .v6(let bytes):
            if bytes.allSatisfy({ $0 == 0 }) { return false }  // unspecified
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return false }  // loopback
            if bytes[0] & 0xFE == 0xFC { return false }  // unique local fc00::/7 (fd00:ec2::254 included)
            if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return false }  // link-local fe80::/10
            if bytes[0] == 0xFF { return false }  // multicast
            if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0D && bytes[3] == 0xB8 { return false }  // documentation
            if bytes[0..<12].allSatisfy({ $0 == 0 }) { return false }  // IPv4-compatible (deprecated)
            if bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xFF && bytes[3] == 0x9B { return false }  // NAT64 of any IPv4
            if bytes[0] == 0x20 && bytes[1] == 0x02 { return false }  // 6to4 wraps an IPv4 address
            return true
        }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return text
    }
}
