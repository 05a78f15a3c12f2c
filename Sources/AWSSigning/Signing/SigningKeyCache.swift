import Crypto
import Synchronization

/// Keeps the most recent derived signing key, which is valid for one day, region and service.
public final class SigningKeyCache: Sendable {
    struct Scope: Hashable {
        var accessKeyID: String
        var date: String
        var region: String
        var service: String
    }

    private let latest = Mutex<(scope: Scope, key: SymmetricKey)?>(nil)

    /// Creates an empty cache.
    public init() {}

    func key(for scope: Scope) -> SymmetricKey? {
        latest.withLock { $0?.scope == scope ? $0?.key : nil }
    }

    func store(_ key: SymmetricKey, for scope: Scope) {
        latest.withLock { $0 = (scope, key) }
    }
}
