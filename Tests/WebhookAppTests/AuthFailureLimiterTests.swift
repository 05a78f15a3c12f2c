import Testing

@testable import WebhookApp

/// The limiter on its own, with the time given: windows, lockouts, and the bounded table.
@Suite struct AuthFailureLimiterTests {
    let start = ContinuousClock.now

    static func key(_ address: String, configured: Int? = nil) -> AuthFailureLimiter.Key {
        AuthFailureLimiter.Key(address: address, username: configured.map { CredentialVerifier.ConfiguredUsername(index: $0) })
    }

    static func address(_ index: Int) -> String { "198.18.\(index / 256 % 256).\(index % 256)" + (index >= 65_536 ? "#\(index / 65_536)" : "") }

    @Test func theLimitThFailureWithinTheWindowLocks() {
        let limiter = AuthFailureLimiter(policy: .init(limit: 3, window: .seconds(60), lockout: .seconds(30)))
        let key = Self.key("192.0.2.1")
        #expect(limiter.recordFailure(for: key, now: start) == false)
        #expect(limiter.recordFailure(for: key, now: start + .seconds(1)) == false)
        #expect(limiter.lockoutRemaining(for: key, now: start + .seconds(1)) == nil)
        #expect(limiter.recordFailure(for: key, now: start + .seconds(2)) == true)
        #expect(limiter.lockoutRemaining(for: key, now: start + .seconds(2)) == .seconds(30))
    }

    @Test func failuresAfterTheWindowStartANewCount() {
        let limiter = AuthFailureLimiter(policy: .init(limit: 3, window: .seconds(60), lockout: .seconds(30)))
        let key = Self.key("192.0.2.1")
        _ = limiter.recordFailure(for: key, now: start)
        _ = limiter.recordFailure(for: key, now: start + .seconds(10))
        #expect(limiter.recordFailure(for: key, now: start + .seconds(61)) == false)
        #expect(limiter.recordFailure(for: key, now: start + .seconds(62)) == false)
        #expect(limiter.recordFailure(for: key, now: start + .seconds(63)) == true)
    }

    @Test func anEndedLockoutLeavesNothingBehind() {
        let limiter = AuthFailureLimiter(policy: .init(limit: 2, window: .seconds(60), lockout: .seconds(30)))
        let key = Self.key("192.0.2.1", configured: 0)
        _ = limiter.recordFailure(for: key, now: start)
        #expect(limiter.recordFailure(for: key, now: start) == true)
        #expect(limiter.lockoutRemaining(for: key, now: start + .seconds(30)) == nil)
        #expect(limiter.count == 0)
        // The next failure counts from one, not from where the lockout began.
        #expect(limiter.recordFailure(for: key, now: start + .seconds(31)) == false)
    }

    @Test func aSuccessForgetsTheRecord() {
        let limiter = AuthFailureLimiter(policy: .init(limit: 2, window: .seconds(60), lockout: .seconds(30)))
        let key = Self.key("192.0.2.1", configured: 0)
        _ = limiter.recordFailure(for: key, now: start)
        limiter.recordSuccess(for: key)
        #expect(limiter.count == 0)
        #expect(limiter.recordFailure(for: key, now: start) == false)
    }

    @Test func unknownAndConfiguredUserNamesAtOneAddressAreCountedApart() {
        let limiter = AuthFailureLimiter(policy: .init(limit: 2, window: .seconds(60), lockout: .seconds(30)))
        _ = limiter.recordFailure(for: Self.key("192.0.2.1"), now: start)
        #expect(limiter.recordFailure(for: Self.key("192.0.2.1"), now: start) == true)
        #expect(limiter.lockoutRemaining(for: Self.key("192.0.2.1", configured: 0), now: start) == nil)
        #expect(limiter.lockoutRemaining(for: Self.key("192.0.2.1", configured: 1), now: start) == nil)
        #expect(limiter.lockoutRemaining(for: Self.key("192.0.2.2"), now: start) == nil)
    }

    @Test func theTableNeverHoldsMoreRecordsThanItsCapacity() {
        let limiter = AuthFailureLimiter(policy: .init(limit: 5, window: .seconds(60), lockout: .seconds(30)), capacity: 1_000)
        for index in 0..<20_000 {
            _ = limiter.recordFailure(for: Self.key(Self.address(index)), now: start + .milliseconds(index))
        }
        #expect(limiter.count == 1_000)
        // The newest are the ones kept.
        _ = limiter.recordFailure(for: Self.key(Self.address(19_999)), now: start + .seconds(30))
        _ = limiter.recordFailure(for: Self.key(Self.address(19_999)), now: start + .seconds(30))
        _ = limiter.recordFailure(for: Self.key(Self.address(19_999)), now: start + .seconds(30))
        #expect(limiter.recordFailure(for: Self.key(Self.address(19_999)), now: start + .seconds(30)) == true)
    }

    @Test func theDefaultCapacityHoldsAtAHundredThousandAddresses() {
        let limiter = AuthFailureLimiter(policy: .init(limit: 2, window: .seconds(60), lockout: .seconds(60)))
        for index in 0..<(AuthFailureLimiter.defaultCapacity + 5_000) {
            _ = limiter.recordFailure(for: Self.key(Self.address(index)), now: start)
        }
        #expect(limiter.count == AuthFailureLimiter.defaultCapacity)
        // Still working, and still locking out an address that keeps failing.
        #expect(limiter.recordFailure(for: Self.key("192.0.2.99"), now: start) == false)
        #expect(limiter.recordFailure(for: Self.key("192.0.2.99"), now: start) == true)
        #expect(limiter.lockoutRemaining(for: Self.key("192.0.2.99"), now: start) != nil)
    }

    @Test func theLeastRecentlyCountedRecordIsEvictedFirst() {
        let limiter = AuthFailureLimiter(policy: .init(limit: 3, window: .seconds(60), lockout: .seconds(30)), capacity: 2)
        _ = limiter.recordFailure(for: Self.key("a"), now: start)
        _ = limiter.recordFailure(for: Self.key("b"), now: start + .seconds(1))
        _ = limiter.recordFailure(for: Self.key("a"), now: start + .seconds(2))
        _ = limiter.recordFailure(for: Self.key("c"), now: start + .seconds(3))
        #expect(limiter.count == 2)
        // "a" kept its two failures; "b" was forgotten.
        #expect(limiter.recordFailure(for: Self.key("a"), now: start + .seconds(4)) == true)
        #expect(limiter.recordFailure(for: Self.key("b"), now: start + .seconds(4)) == false)
    }

    @Test func aFloodOfNewAddressesDoesNotEvictALockoutInForce() {
        let limiter = AuthFailureLimiter(policy: .init(limit: 2, window: .seconds(60), lockout: .seconds(600)), capacity: 100)
        let guesser = Self.key("203.0.113.7", configured: 0)
        _ = limiter.recordFailure(for: guesser, now: start)
        #expect(limiter.recordFailure(for: guesser, now: start) == true)
        for index in 0..<10_000 {
            _ = limiter.recordFailure(for: Self.key(Self.address(index)), now: start + .milliseconds(index))
        }
        #expect(limiter.count == 100)
        #expect(limiter.lockoutRemaining(for: guesser, now: start + .seconds(10)) != nil)
    }

    @Test func anEndedLockoutIsEvictedBeforeAnyCount() {
        let limiter = AuthFailureLimiter(policy: .init(limit: 2, window: .seconds(60), lockout: .seconds(10)), capacity: 2)
        _ = limiter.recordFailure(for: Self.key("locked"), now: start)
        #expect(limiter.recordFailure(for: Self.key("locked"), now: start) == true)
        _ = limiter.recordFailure(for: Self.key("counting"), now: start + .seconds(1))
        _ = limiter.recordFailure(for: Self.key("new"), now: start + .seconds(11))
        #expect(limiter.count == 2)
        // "counting" kept its failure: one more locks it.
        #expect(limiter.recordFailure(for: Self.key("counting"), now: start + .seconds(12)) == true)
    }

    @Test func whenEveryRecordIsALockoutInForceTheOneEndingFirstGoes() {
        let limiter = AuthFailureLimiter(policy: .init(limit: 1, window: .seconds(60), lockout: .seconds(600)), capacity: 2)
        _ = limiter.recordFailure(for: Self.key("a"), now: start)
        _ = limiter.recordFailure(for: Self.key("b"), now: start + .seconds(1))
        _ = limiter.recordFailure(for: Self.key("c"), now: start + .seconds(2))
        #expect(limiter.count == 2)
        #expect(limiter.lockoutRemaining(for: Self.key("a"), now: start + .seconds(3)) == nil)
        #expect(limiter.lockoutRemaining(for: Self.key("b"), now: start + .seconds(3)) != nil)
        #expect(limiter.lockoutRemaining(for: Self.key("c"), now: start + .seconds(3)) != nil)
    }
}
