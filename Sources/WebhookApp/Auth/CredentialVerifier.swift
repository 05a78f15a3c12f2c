import Crypto

/// What accepted credentials may do.
public enum AccessRole: Sendable, Hashable {
    /// The webhook credentials: deliver (`POST`) and read, as in the spec.
    case webhook
    /// The reader credentials: every `GET` and the read-status `PATCH`, never a delivery.
    case reader
}

/// Checks presented credentials against the accepted pairs in constant time.
///
/// The time taken does not depend on where a guess first differs, on which part (user name
/// or password) is wrong, or on which accepted pair matched: both parts are hashed to fixed
/// 32-byte digests and compared byte by byte without stopping early, against every
/// configured user name and every pair.
///
/// User names are compared as raw bytes, never as Swift `String`s: `String` equality
/// normalizes Unicode (U+212A KELVIN SIGN equals "K"), and a look-alike name must not count
/// as a configured one.
public struct CredentialVerifier: Sendable {
    /// A configured user name, by position: the text is not kept outside the verifier.
    public struct ConfiguredUsername: Sendable, Hashable {
        let index: Int
        /// What this user name may do.
        public var role: AccessRole = .webhook
    }

    /// What a check found.
    public enum Verdict: Sendable, Hashable {
        /// A configured user name with one of its passwords.
        case accepted(ConfiguredUsername)
        /// A configured user name with a password that is not one of its own.
        case wrongPassword(ConfiguredUsername)
        /// A user name that is not configured (whatever the password).
        case unknownUsername

        /// The configured user name presented, or `nil` for an unknown one.
        public var username: ConfiguredUsername? {
            switch self {
            case .accepted(let username), .wrongPassword(let username): username
            case .unknownUsername: nil
            }
        }
    }

    private struct DigestPair: Sendable {
        var username: Int
        var password: [UInt8]
    }

    /// Digests of the distinct configured user names (the current and the previous pair
    /// usually share one).
    private let usernames: [[UInt8]]
    private let accepted: [DigestPair]

    /// What each of ``usernames`` may do.
    private let roles: [AccessRole]

    /// Creates a verifier that accepts any of `credentials`, each with the webhook's rights.
    public init(accepting credentials: [BasicCredentials]) {
        self.init(granting: credentials.map { ($0, .webhook) })
    }

    /// Creates a verifier that accepts any of `grants`, each pair with its role. A user name
    /// is one role: should two grants give one name different roles, it gets the reader's.
    public init(granting grants: [(BasicCredentials, AccessRole)]) {
        var usernames: [[UInt8]] = []
        var roles: [AccessRole] = []
        var accepted: [DigestPair] = []
        for (pair, role) in grants {
            let username = Self.digest(Array(pair.username.utf8))
            let index = usernames.firstIndex(of: username) ?? usernames.count
            if index == usernames.count {
                usernames.append(username)
                roles.append(role)
            } else if role == .reader {
                roles[index] = .reader
            }
            accepted.append(DigestPair(username: index, password: Self.digest(Array(pair.password.utf8))))
        }
        self.usernames = usernames
        self.roles = roles
        self.accepted = accepted
    }

    /// Whether the user name and password (as raw bytes) match an accepted pair.
    public func verify(username: [UInt8], password: [UInt8]) -> Bool {
        if case .accepted = check(username: username, password: password) { return true }
        return false
    }

    /// Whether the user name and password (as raw bytes) match an accepted pair, and which
    /// configured user name they presented, in one pass of constant time.
    public func check(username: [UInt8], password: [UInt8]) -> Verdict {
        let usernameDigest = Self.digest(username)
        let passwordDigest = Self.digest(password)
        // Every configured name and every pair is compared in full, whatever matched: no branch
        // depends on a comparison until all of them are done.
        var named = -1
        for (index, configured) in usernames.enumerated() where Self.difference(configured, usernameDigest) == 0 {
            named = index
        }
        var matched = false
        for pair in accepted {
            let difference = Self.difference(usernames[pair.username], usernameDigest) | Self.difference(pair.password, passwordDigest)
            matched = matched || difference == 0
        }
        guard named >= 0 else { return .unknownUsername }
        let username = ConfiguredUsername(index: named, role: roles[named])
        return matched ? .accepted(username) : .wrongPassword(username)
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
