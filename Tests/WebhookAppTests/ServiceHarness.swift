import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MessageStore
import NIOCore
import StoreTestSupport
import Synchronization
import Testing

@testable import WebhookApp

/// Collects the service's log lines so tests can read what it logged.
final class LogCapture: Sendable {
    private let storage = Mutex<[String]>([])

    var lines: [String] { storage.withLock { $0 } }

    /// A logger whose JSON lines land here.
    func logger() -> Logger {
        Logger(label: "qualia-webhook") { label in
            JSONLogHandler(label: label, logLevel: .trace) { line in self.storage.withLock { $0.append(line) } }
        }
    }

    /// Every line, decoded as a JSON object.
    func objects() throws -> [[String: Any]] {
        try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }
}

let testCredentials = BasicCredentials(username: "webhook_user", password: "webhook_pass")

/// `Authorization: Basic …` for a user name and password.
func basicAuthorization(_ username: String, _ password: String) -> HTTPFields {
    [.authorization: "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()]
}

let validAuthorization = basicAuthorization(testCredentials.username, testCredentials.password)

/// Whether tests that leave the setup to `withService` run over a live HTTPS server
/// (`TEST_TRANSPORT=https`, issue 16's contract suite over TLS) instead of the router.
let testsOverHTTPS = ProcessInfo.processInfo.environment["TEST_TRANSPORT"] == "https"

/// Runs `body` against the real router (or a live server) over a fresh store of `kind`.
/// Without a `setup`, the router; with `TEST_TRANSPORT=https`, a live HTTPS server (a
/// certificate made for the run, HTTP/2 or HTTP/1.1 as AsyncHTTPClient negotiates).
func withService(
    _ kind: StoreUnderTest,
    setup: TestingSetup? = nil,
    options: StoreUnderTest.Options = .init(),
    configure: (inout AppConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (any TestClientProtocol, any MessageStore, LogCapture) async throws -> Void
) async throws {
    var configuration = AppConfiguration(auth: .init(credentials: testCredentials), http: .init(port: 0))
    configure(&configuration)
    let logs = LogCapture()
    // The app's own registry, which the store records into too, as `buildApplication` does.
    let metrics = ServiceMetrics(configuration.metrics)
    var options = options
    options.metricsFactory = metrics.factory
    let tls: (reloader: TLSReloader, folder: TemporaryDirectory)?
    if setup == nil, testsOverHTTPS {
        let folder = try TemporaryDirectory()
        let files = try await Certificates.selfSigned("server", in: folder)
        configuration.http.tls = files
        tls = (TLSReloader(files: files, initial: try TLSCertificateLoader.load(files), pollInterval: nil, logger: logs.logger()), folder)
    } else {
        tls = nil
    }
    defer { tls?.folder.remove() }
    try await withStore(kind, options: options) { [configuration] store in
        let app = buildApplication(configuration, store: store, metrics: metrics, tls: tls?.reloader, logger: logs.logger())
        try await app.test(tls == nil ? setup ?? .router : .ahc(.https)) { client in try await body(client, store, logs) }
    }
}

/// The spec's example webhook, as a JSON object that tests may change before sending.
func specExample() -> [String: Any] {
    [
        "order_id": "QO-123456",
        "message_id": "MSG-001",
        "order_number": "ORD-2025-001",
        "from_name": "John Smith",
        "text": "Message content here",
        "created_date": "2025-10-28T10:30:00Z",
        "read": false,
        "attachments": [["_id": "ATT-001", "name": "document.pdf", "url": "https://example.com/files/document.pdf", "tag": "contract"]],
        "message_type": "message.received",
        "timestamp": "2025-10-28T10:30:00Z",
    ]
}

func jsonBody(_ object: Any) throws -> ByteBuffer {
    ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
}

extension TestClientProtocol {
    /// POSTs a webhook with valid credentials unless others are given.
    func postMessage(_ object: Any, headers: HTTPFields = validAuthorization) async throws -> TestResponse {
        try await execute(uri: "/webhook/messages", method: .post, headers: headers, body: try jsonBody(object))
    }

    /// GETs an order's messages with valid credentials.
    func getMessages(_ path: String, headers: HTTPFields = validAuthorization) async throws -> TestResponse {
        try await execute(uri: "/webhook/messages/" + path, method: .get, headers: headers)
    }
}

extension TestResponse {
    /// The body as text.
    var text: String { String(buffer: body) }

    /// The body as a JSON object.
    func json() throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// The `error` code and the invalid fields of an error answer.
    func errorFields() throws -> [String: String] {
        let fields = try json()["fields"] as? [[String: String]] ?? []
        return Dictionary(fields.map { ($0["field"] ?? "", $0["message"] ?? "") }, uniquingKeysWith: { first, _ in first })
    }
}
