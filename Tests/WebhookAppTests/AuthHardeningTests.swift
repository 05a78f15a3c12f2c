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
            $0.auth.failureLimit = 3
            // Long enough that a loaded full run cannot outlast it before the locked request.
            $0.auth.lockout = .seconds(5)
            $0.auth.clientAddressHeader = "X-Forwarded-For"
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

            try await Task.sleep(for: .milliseconds(5100))
            #expect(try await client.postMessage(specExample(), headers: Self.from(attacker, validAuthorization)).status == .ok)

            let lockoutLine = try #require(logs.lines.first { $0.contains("locked out") })
            #expect(lockoutLine.contains(attacker))
            #expect(!logs.lines.contains { $0.contains("guess") })
        }
    }

    @Test func aSuccessfulLoginForgetsEarlierFailures() async throws {
        try await withService(.sqlite, configure: {
            $0.auth.failureLimit = 3
            $0.auth.clientAddressHeader = "X-Forwarded-For"
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
        #expect(configuration.auth.previousCredentials == BasicCredentials(username: "webhook_user", password: "old-password"))
        try await withService(.sqlite, configure: {
            $0.auth.credentials = configuration.auth.credentials
            $0.auth.previousCredentials = configuration.auth.previousCredentials
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
        try await withService(.sqlite, setup: .live, configure: { $0.auth.failureLimit = 2 }) { client, _, logs in
            for _ in 0..<2 {
                let failed = try await client.getMessages("QO-1", headers: basicAuthorization("webhook_user", "nope"))
                #expect(failed.status == .unauthorized)
            }
            let locked = try await client.getMessages("QO-1")
            #expect(locked.status == .tooManyRequests)
            #expect(logs.lines.contains { $0.contains("locked out") && $0.contains("127.0.0.1") })
        }
    }

    @Test func wrongPasswordsUnderUnknownUserNamesNeverLockOutTheRightCredentials() async throws {
        try await withService(.sqlite, configure: {
            $0.auth.failureLimit = 3
            $0.auth.clientAddressHeader = "X-Forwarded-For"
        }) { client, _, _ in
            // Behind a proxy that is not named, every client has this one address.
            let shared = "10.0.0.1"
            for name in ["admin", "root", "qualia"] {
                let failed = try await client.postMessage(specExample(), headers: Self.from(shared, basicAuthorization(name, "guess")))
                #expect(failed.status == .unauthorized)
            }
            let stillGuessing = try await client.postMessage(specExample(), headers: Self.from(shared, basicAuthorization("admin", "guess")))
            #expect(stillGuessing.status == .tooManyRequests)
            let delivery = try await client.postMessage(specExample(), headers: Self.from(shared, validAuthorization))
            #expect(delivery.status == .ok)
        }
    }

    @Test func aRequestWithoutAuthorizationIsNeverCountedButMalformedOnesCountAsAnUnknownUserName() async throws {
        try await withService(.sqlite, configure: {
            $0.auth.failureLimit = 2
            $0.auth.clientAddressHeader = "X-Forwarded-For"
        }) { client, _, logs in
            let address = "192.0.2.40"
            // No Authorization at all guessed nothing (a browser asking for its prompt): never a lockout.
            for _ in 0..<5 {
                #expect(try await client.postMessage(specExample(), headers: Self.from(address, [:])).status == .unauthorized)
            }
            // Malformed credentials are guesses: the same record as any unknown user name.
            var malformed = Self.from(address, [:])
            malformed[.authorization] = "Basic not-base64!"
            #expect(try await client.postMessage(specExample(), headers: malformed).status == .unauthorized)
            #expect(try await client.postMessage(specExample(), headers: Self.from(address, basicAuthorization("nobody", "x"))).status == .unauthorized)
            // Locked now, for unknown user names and (while it lasts) for requests without credentials.
            let unknown = try await client.postMessage(specExample(), headers: Self.from(address, basicAuthorization("nobody", "x")))
            #expect(unknown.status == .tooManyRequests)
            #expect(try await client.postMessage(specExample(), headers: Self.from(address, [:])).status == .tooManyRequests)
            // Neither the configured user name nor the right password is locked.
            let wrongPassword = try await client.postMessage(specExample(), headers: Self.from(address, basicAuthorization("webhook_user", "x")))
            #expect(wrongPassword.status == .unauthorized)
            #expect(try await client.postMessage(specExample(), headers: Self.from(address, validAuthorization)).status == .ok)
            let lockout = try #require(try logs.objects().first { $0["message"] as? String == "Client locked out after repeated authentication failures" })
            #expect(lockout["user"] as? String == "unknown")
        }
    }

    @Test func aLookAlikeOfTheConfiguredUserNameIsAnUnknownUserName() async throws {
        try await withService(.sqlite, configure: {
            $0.auth.credentials = BasicCredentials(username: "Kelvin", password: "webhook_pass")
            $0.auth.failureLimit = 2
            $0.auth.clientAddressHeader = "X-Forwarded-For"
        }) { client, _, _ in
            let address = "192.0.2.41"
            // U+212A KELVIN SIGN: equal to "K" as a Swift String, not as bytes.
            let lookAlike = Self.from(address, basicAuthorization("\u{212A}elvin", "guess"))
            for _ in 0..<2 { #expect(try await client.postMessage(specExample(), headers: lookAlike).status == .unauthorized) }
            #expect(try await client.postMessage(specExample(), headers: lookAlike).status == .tooManyRequests)
            let delivery = try await client.postMessage(specExample(), headers: Self.from(address, basicAuthorization("Kelvin", "webhook_pass")))
            #expect(delivery.status == .ok)
        }
    }

    @Test func failuresNamingTheConfiguredUserLockThatUserAtThatAddressOnly() async throws {
        try await withService(.sqlite, configure: {
            $0.auth.failureLimit = 3
            $0.auth.clientAddressHeader = "X-Forwarded-For"
        }) { client, _, logs in
            let guesser = "203.0.113.9"
            for _ in 0..<3 {
                let failed = try await client.getMessages("QO-1", headers: Self.from(guesser, basicAuthorization("webhook_user", "guess")))
                #expect(failed.status == .unauthorized)
            }
            #expect(try await client.getMessages("QO-1", headers: Self.from(guesser, validAuthorization)).status == .tooManyRequests)
            #expect(try await client.getMessages("QO-1", headers: Self.from("198.51.100.9", validAuthorization)).status == .ok)
            // Unknown user names at that address have a record of their own, not locked.
            let unknown = try await client.getMessages("QO-1", headers: Self.from(guesser, basicAuthorization("admin", "guess")))
            #expect(unknown.status == .unauthorized)
            let lockout = try #require(try logs.objects().first { $0["message"] as? String == "Client locked out after repeated authentication failures" })
            #expect(lockout["user"] as? String == "configured")
        }
    }

    @Test func afterALockoutEndsASuccessForgetsEveryEarlierFailure() async throws {
        try await withService(.sqlite, configure: {
            $0.auth.failureLimit = 3
            // Long enough that a busy machine still checks inside the lockout.
            $0.auth.lockout = .seconds(3)
            $0.auth.clientAddressHeader = "X-Forwarded-For"
        }) { client, _, _ in
            let wrong = Self.from("192.0.2.50", basicAuthorization("webhook_user", "typo"))
            let right = Self.from("192.0.2.50", validAuthorization)
            for _ in 0..<3 { _ = try await client.getMessages("QO-1", headers: wrong) }
            #expect(try await client.getMessages("QO-1", headers: right).status == .tooManyRequests)
            try await Task.sleep(for: .milliseconds(3200))
            #expect(try await client.getMessages("QO-1", headers: right).status == .ok)
            for _ in 0..<2 { #expect(try await client.getMessages("QO-1", headers: wrong).status == .unauthorized) }
            #expect(try await client.getMessages("QO-1", headers: right).status == .ok)
            for _ in 0..<2 { #expect(try await client.getMessages("QO-1", headers: wrong).status == .unauthorized) }
            #expect(try await client.getMessages("QO-1", headers: right).status == .ok)
        }
    }

    @Test func forwardedRequestsWithoutAClientAddressHeaderAreWarnedAboutOnce() async throws {
        try await withService(.sqlite) { client, _, logs in
            #expect(try await client.getMessages("QO-1").status == .ok)
            #expect(!logs.lines.contains { $0.contains("CLIENT_ADDRESS_HEADER") })
            for index in 0..<5 {
                let response = try await client.getMessages("QO-1", headers: Self.from("192.0.2.\(index)", validAuthorization))
                #expect(response.status == .ok)
            }
            let warnings = try logs.objects().filter { ($0["message"] as? String)?.contains("CLIENT_ADDRESS_HEADER") == true }
            #expect(warnings.count == 1)
            #expect(warnings.first?["level"] as? String == "WARNING")
        }
    }

    @Test func forwardedRequestsWithAClientAddressHeaderAreNotWarnedAbout() async throws {
        try await withService(.sqlite, configure: { $0.auth.clientAddressHeader = "X-Forwarded-For" }) { client, _, logs in
            let response = try await client.getMessages("QO-1", headers: Self.from("192.0.2.1", validAuthorization))
            #expect(response.status == .ok)
            #expect(!logs.lines.contains { $0.contains("CLIENT_ADDRESS_HEADER") })
        }
    }
}
