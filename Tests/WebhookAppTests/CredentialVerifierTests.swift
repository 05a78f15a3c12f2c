import Testing

@testable import WebhookApp

@Suite struct CredentialVerifierTests {
    let verifier = CredentialVerifier(accepting: [
        BasicCredentials(username: "webhook_user", password: "webhook_pass"),
        BasicCredentials(username: "reader", password: "pässwörd"),
    ])

    func verify(_ username: String, _ password: String) -> Bool {
        verifier.verify(username: Array(username.utf8), password: Array(password.utf8))
    }

    @Test func acceptsEachConfiguredPair() {
        #expect(verify("webhook_user", "webhook_pass"))
        #expect(verify("reader", "pässwörd"))
    }

    @Test func rejectsAnythingElse() {
        #expect(!verify("webhook_user", "pässwörd"))
        #expect(!verify("reader", "webhook_pass"))
        #expect(!verify("webhook_user", "webhook_pas"))
        #expect(!verify("webhook_user", "webhook_pass "))
        #expect(!verify("Webhook_user", "webhook_pass"))
        #expect(!verify("", ""))
        #expect(!verifier.verify(username: Array("webhook_user".utf8), password: [0xFF]))
    }
}

@Suite struct CredentialVerdictTests {
    let verifier = CredentialVerifier(accepting: [
        BasicCredentials(username: "Kelvin", password: "current"),
        BasicCredentials(username: "Kelvin", password: "previous"),
        BasicCredentials(username: "reader", password: "pässwörd"),
    ])

    func check(_ username: String, _ password: String) -> CredentialVerifier.Verdict {
        verifier.check(username: Array(username.utf8), password: Array(password.utf8))
    }

    @Test func bothPasswordsOfOneUserNameNameTheSameConfiguredUser() {
        let current = check("Kelvin", "current")
        #expect(current == check("Kelvin", "previous"))
        #expect(current.username == check("Kelvin", "wrong").username)
        #expect(current.username != check("reader", "pässwörd").username)
        #expect(current.username != nil)
    }

    @Test func aWrongPasswordStillNamesTheConfiguredUser() {
        guard case .wrongPassword = check("reader", "current") else {
            Issue.record("expected wrongPassword")
            return
        }
    }

    @Test func userNamesAreComparedAsBytesNotAsStrings() {
        // U+212A KELVIN SIGN: equal to "K" as a Swift String, not as bytes.
        #expect("\u{212A}elvin" == "Kelvin")
        #expect(check("\u{212A}elvin", "current") == .unknownUsername)
        #expect(check("kelvin", "current") == .unknownUsername)
        #expect(check("", "") == .unknownUsername)
    }
}
