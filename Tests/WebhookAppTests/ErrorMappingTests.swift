import Hummingbird
import Logging
import MessageStore
import Testing

@testable import WebhookApp

@Suite struct ErrorMappingTests {
    let logger = Logger(label: "test")

    /// Every store failure is a 503 with `Retry-After`, never a 500: nothing was stored, and
    /// Qualia retries a 503.
    @Test func storeFailuresAre503WithoutTheirReason() {
        let unavailable = ErrorMiddleware<WebhookRequestContext>.webhookError(for: MessageStoreError.unavailable("disk I/O error at /secret/path"), logger: logger)
        #expect(unavailable.status == .serviceUnavailable)
        #expect(unavailable.headers[.retryAfter] == "1")
        let failed = ErrorMiddleware<WebhookRequestContext>.webhookError(for: MessageStoreError.failed("no such table: messages"), logger: logger)
        #expect(failed.status == .serviceUnavailable)
        #expect(failed.headers[.retryAfter] == "1")
        for error in [unavailable, failed] {
            #expect(!error.message.contains("secret") && !error.message.contains("table"))
        }
    }

    @Test func unexpectedErrorsAre500WithoutDetail() {
        struct Surprise: Error { var detail = "stack trace here" }
        let error = ErrorMiddleware<WebhookRequestContext>.webhookError(for: Surprise(), logger: logger)
        #expect(error.status == .internalServerError)
        #expect(error.code == "internal_error")
        #expect(!error.message.contains("stack"))
    }
}
