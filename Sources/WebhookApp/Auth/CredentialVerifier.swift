import Crypto

/// Checks presented credentials against the accepted pairs in constant time.
///
/// The time taken does not depend on where a guess first differs, on which part (user name
/// or password) is wrong, or on which accepted pair matched: both parts are hashed to fixed
/// 32-byte digests and compared byte by byte without stopping early, against every pair.
public struct CredentialVerifier: Sendable {
    private struct DigestPair: Sendable {
        var username: [UInt8]
        var password: [UInt8]
    }

    private let accepted: [DigestPair]

    /// Creates a verifier that accepts any of `credentials`.
    public init(accepting credentials: [BasicCredentials]) {
        accepted = credentials.map {
            DigestPair(username: Self.digest(Array($0.username.utf8)), password: Self.digest(Array($0.password.utf8)))
        }
    }

    /// Whether the user name and password (as raw bytes) match an accepted pair.
    public func verify(username: [UInt8], password: [UInt8]) -> Bool {
        let usernameDigest = Self.digest(username)
        let passwordDigest = Self.digest(password)
        var matched = false
        for pair in accepted {
            // Both parts are always compared, even when the user name already differs.
            let difference = Self.difference(pair.username, usernameDigest) | Self.difference(pair.password, passwordDigest)
            matched = matched || difference == 0
        }
        return matched
    }

    private static func digest(_ bytes: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }

    /// Zero when two digests (always 32 bytes) are equal; read every byte either way.
    private static func difference(_ lhs: [UInt8], _ rhs: [UInt8]) -> UInt8 {
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference
    }
}
