import Foundation
import HTTPTypes
import HummingbirdTesting
import StoreTestSupport
import Testing

@testable import WebhookApp

@Suite struct AuthHardeningTests {
    static func from(_ address: String, _ headers: HTTPFields) -> HTTPFields {
        var headers = headers
        headers[HTTPField.Name("X-Forwarded-For")!] = "10.9.8.7, \(address)"
        return headers
    }

    @Test func repeatedFailuresLockOneAddressOutWithoutSlowingOthers() async throws {
        try await withService(.sqlite, configure: {
            $0.authFailureLimit = 3
            $0.authLockout = .seconds(1)
            $0.clientAddressHeader = "X-Forwarded-For"
        }) { client, _, logs in
            let attacker = "203.0.113.7"
            for _ in 0..<3 {
                let response = try await client.postMessage(specExample(), headers: Self.from(attacker, basicAuthorization("webhook_user", "guess")))
                #expect(response.status == .unauthorized)
            }
            let locked = try await client.postMessage(specExample(), headers: Self.from(attacker, validAuthorization))
            #expect(locked.status == .tooManyRequests)
            #expect(try locked.json()["error"] as? String == "too_many_failed_attempts")
            #expect(Int(locked.headers[.retryAfter] ?? "") ?? 0 >= 1)

            let someoneElse = try await client.postMessage(specExample(), headers: Self.from("198.51.100.2", validAuthorization))
            #expect(someoneElse.status == .ok)

            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await client.postMessage(specExample(), headers: Self.from(attacker, validAuthorization)).status == .ok)

            let lockoutLine = try #require(logs.lines.first { $0.contains("locked out") })
            #expect(lockoutLine.contains(attacker))
            #expect(!logs.lines.contains { $0.contains("guess") })
        }
    }

    @Test func aSuccessfulLoginForgetsEarlierFailures() async throws {
        try await withService(.sqlite, configure: {
            $0.authFailureLimit = 3
            $0.clientAddressHeader = "X-Forwarded-For"
        }) { client, _, _ in
            let wrong = Self.from("192.0.2.1", basicAuthorization("webhook_user", "typo"))
            let right = Self.from("192.0.2.1", validAuthorization)
            for _ in 0..<2 { _ = try await client.getMessages("QO-1", headers: wrong) }
            #expect(try await client.getMessages("QO-1", headers: right).status == .ok)
            for _ in 0..<2 { _ = try await client.getMessages("QO-1", headers: wrong) }
            #expect(try await client.getMessages("QO-1", headers: right).status == .ok)
        }
    }

    @Test func thePreviousPasswordWorksDuringRotation() async throws {
        let configuration = try AppConfiguration(environment: [
            "WEBHOOK_USERNAME": "webhook_user", "WEBHOOK_PASSWORD": "new-password", "WEBHOOK_PASSWORD_PREVIOUS": "old-password",
        ])
        #expect(configuration.previousCredentials == BasicCredentials(username: "webhook_user", password: "old-password"))
        try await withService(.sqlite, configure: {
            $0.credentials = configuration.credentials
            $0.previousCredentials = configuration.previousCredentials
        }) { client, _, _ in
            let current = try await client.postMessage(specExample(), headers: basicAuthorization("webhook_user", "new-password"))
            let previous = try await client.postMessage(specExample(), headers: basicAuthorization("webhook_user", "old-password"))
            let older = try await client.postMessage(specExample(), headers: basicAuthorization("webhook_user", "older-password"))
            #expect(current.status == .ok)
            #expect(previous.status == .ok)
            #expect(older.status == .unauthorized)
        }
    }

    @Test func overARealSocketTheLockoutFollowsThePeerAddress() async throws {
        try await withService(.sqlite, setup: .live, configure: { $0.authFailureLimit = 2 }) { client, _, logs in
            for _ in 0..<2 {
                let failed = try await client.getMessages("QO-1", headers: basicAuthorization("webhook_user", "nope"))
                #expect(failed.status == .unauthorized)
            }
            let locked = try await client.getMessages("QO-1")
            #expect(locked.status == .tooManyRequests)
            #expect(logs.lines.contains { $0.contains("locked out") && $0.contains("127.0.0.1") })
        }
    }

    @Test func theLimiterForgetsQuietAddressesBeyondItsBound() {
        let limiter = AuthFailureLimiter(policy: .init(limit: 2, window: .seconds(60), lockout: .seconds(60)))
        let start = ContinuousClock.now
        for index in 0..<(AuthFailureLimiter.maximumTrackedAddresses + 50) {
            _ = limiter.recordFailure(for: "198.18.\(index / 256).\(index % 256)", now: start)
        }
        // Still working, and still locking out an address that keeps failing.
        #expect(limiter.recordFailure(for: "192.0.2.99", now: start) == false)
        #expect(limiter.recordFailure(for: "192.0.2.99", now: start) == true)
        #expect(limiter.lockoutRemaining(for: "192.0.2.99", now: start) != nil)
    }
}
