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
