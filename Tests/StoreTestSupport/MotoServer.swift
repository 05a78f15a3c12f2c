import AWSSigning
import DynamoDB
import DynamoDBMessageStore
import Foundation
import Logging
import NIOCore

/// The DynamoDB-compatible server the DynamoDB tests talk to: moto on loopback, with its
/// conditional writes made atomic as DynamoDB's are (`scripts/moto-server`).
///
/// `DYNAMODB_TEST_ENDPOINT` names one that is already running (`.ci/run` sets it); without
/// it the tests start their own the first time they ask, when moto is installed.
public enum MotoServer {
    /// Where the DynamoDB tests' server comes from, settled once per test process.
    enum Source: Sendable {
        /// A server at this URL: `DYNAMODB_TEST_ENDPOINT`'s, or the one the tests started
        /// (held here for the rest of the process, which keeps it running).
        case running(endpoint: String, started: LocalMotoServer?)
        /// moto is installed but the tests could not start it.
        case failedToStart(String)
        /// moto is not installed and no server is configured.
        case missing
    }

    /// The server, started here on first use when none is configured.
    static let source: Source = {
        if let configured = ProcessInfo.processInfo.environment["DYNAMODB_TEST_ENDPOINT"], !configured.isEmpty {
            return .running(endpoint: configured, started: nil)
        }
        guard LocalMotoServer.isInstalled else { return .missing }
        do {
            let server = try LocalMotoServer.start()
            return .running(endpoint: server.endpoint, started: server)
        } catch {
            return .failedToStart("\(error)")
        }
    }()

    /// The server's URL, when there is one.
    public static var endpoint: String? {
        if case .running(let endpoint, _) = source { endpoint } else { nil }
    }

    /// Whether these tests run in CI, where the DynamoDB tests must run rather than skip.
    /// Whether moto can run here (`python3` with `moto[server]`), for tests that start and
    /// stop a moto of their own.
    public static var isInstalled: Bool { LocalMotoServer.isInstalled }

    public static let isCI: Bool = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty && $0 != "false" } ?? false

    /// Whether DynamoDB tests should run: always, except where moto is not installed and no
    /// server is configured; in CI even then, so that they fail loudly rather than skip.
    public static var shouldRun: Bool {
        if case .missing = source { isCI } else { true }
    }

    /// How long one store operation may take against the suite's shared moto: it answers slowly
    /// when the whole suite runs at once on a busy machine (a `TransactWriteItems` walks the
    /// table), and its speed is not what these tests check. Tests of the deadline itself set
    /// their own, against endpoints of their own. With four moto processes (the shared one,
    /// search's, S3's and the archive's) on two cores, 20 s was passed in CI.
    public static let operationTimeout: Duration = .seconds(45)

    /// Runs `body` with a moto server of its own (its endpoint), stopped afterwards: for a test
    /// whose load (thousands of calls) would slow the shared server for every other test, or
    /// which must not be slowed by them.
    public static func withOwnServer<Result>(_ body: (String) async throws -> Result) async throws -> Result {
        let server = try LocalMotoServer.start()
        let result = try await body(server.endpoint)
        withExtendedLifetime(server) {}
        return result
    }

    /// Another shared moto, for the archive ledger's suites (issue 14): their claims race
    /// several workers and read the jobs' partition again and again, calls the feed suites'
    /// 20 s deadlines on the first server should not wait behind. Started on first use, like
    /// ``searchEndpoint``; `nil` (the first server is used) where moto cannot be started here.
    public static let archiveEndpoint: String? = archiveServer?.endpoint

    private static let archiveServer: LocalMotoServer? = LocalMotoServer.isInstalled ? try? LocalMotoServer.start() : nil

    /// A second shared moto, for the search suites: their many calls (every search across
    /// orders walks the feed) slowed the first one until other suites' calls passed their 20 s
    /// deadlines in CI. moto answers one call at a time, so two servers use both cores. Started
    /// on first use, kept for the test process's lifetime; `nil` (the first server is used)
    /// where moto cannot be started here.
    public static let searchEndpoint: String? = searchServer?.endpoint

    private static let searchServer: LocalMotoServer? = LocalMotoServer.isInstalled ? try? LocalMotoServer.start() : nil

    /// A moto of the S3 suites' own (moto serves S3 beside DynamoDB, path-style): their
    /// multi-megabyte uploads would otherwise hold up the DynamoDB suites' calls on the first
    /// server, which answers one call at a time. Started on first use; `nil` (the first
    /// server is used) where moto cannot be started here.
    public static let s3Endpoint: String? = s3Server?.endpoint ?? endpoint

    private static let s3Server: LocalMotoServer? = LocalMotoServer.isInstalled ? try? LocalMotoServer.start() : nil

    /// Why DynamoDB tests are skipped here.
    public static let skipReason =
        "DynamoDB tests skipped: moto is not installed (python3 cannot import moto.server; pip install 'moto[server]'), and DYNAMODB_TEST_ENDPOINT names no running server."

    /// A client for the test server, with fixed test credentials. Its calls may take
    /// ``operationTimeout`` by default, as the stores' do: a call that the shared moto answers
    /// late (`migrate`'s `PutItem` passed the production 5 s in a full run) is slowness, not a
    /// failure of what the test checks.
    public static func makeClient(retryPolicy: RetryPolicy = RetryPolicy(maxTotalDuration: operationTimeout)) throws -> DynamoDBClient {
        let endpoint: String
        switch source {
        case .running(let running, _): endpoint = running
        case .failedToStart(let reason):
            throw DynamoDBError(kind: .connection, code: "NoTestServer", message: "could not start moto for the tests: \(reason)")
        case .missing:
            throw DynamoDBError(
                kind: .connection, code: "NoTestServer",
                message: "moto is not installed (pip install 'moto[server]') and DYNAMODB_TEST_ENDPOINT is not set; CI must have one of them"
            )
        }
        // Each attempt may wait 30 s, not the production 5: the shared moto runs operations one at
        // a time and walks whole tables, so under a full test run one call can queue for seconds.
        return try DynamoDBClient(
            configuration: .init(region: "us-east-1", endpoint: endpoint, requestTimeout: .seconds(30), retryPolicy: retryPolicy),
            credentialProvider: StaticCredentialProvider(AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing")),
            logger: Logger(label: "test")
        )
    }

    /// A fresh table with the spec's key schema.
    public static func createTable(client: DynamoDBClient) async throws -> String {
        let name = "qualia-test-\(UUID().uuidString.prefix(8).lowercased())"
        try await DynamoDBMessageStore.createTableIfMissing(name, client: client)
        return name
    }
}



/// DynamoDB clients for tests that bring their own server.
public enum DynamoDBTestClient {
    /// A client for `endpoint` with fixed test credentials.
    /// - Parameter requestTimeout: how long one attempt, and one call with its retries, may
    ///   wait for an answer (longer for requests a ``DelayingProxy`` holds back).
    public static func make(endpoint: String, requestTimeout: Duration = .seconds(5)) throws -> DynamoDBClient {
        try DynamoDBClient(
            configuration: .init(
                region: "us-east-1", endpoint: endpoint, requestTimeout: TimeAmount(requestTimeout),
                retryPolicy: RetryPolicy(maxTotalDuration: max(RetryPolicy().maxTotalDuration, requestTimeout))
            ),
            credentialProvider: StaticCredentialProvider(AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing")),
            logger: Logger(label: "test")
        )
    }

    /// Creates a table with the spec's key schema.
    public static func createTable(_ name: String, client: DynamoDBClient) async throws {
        try await DynamoDBMessageStore.createTableIfMissing(name, client: client)
    }
}

extension DynamoDBClient {
    /// Runs `body` with this client, then shuts it down whether `body` threw or not. A client
    /// dropped without its shutdown stops the whole test process (AsyncHTTPClient asserts in
    /// its `deinit`), which turns one slow or failed call into a crash of every suite.
    public func shuttingDown<Result>(after body: (DynamoDBClient) async throws -> Result) async throws -> Result {
        do {
            let result = try await body(self)
            try await shutdown()
            return result
        } catch {
            try? await shutdown()
            throw error
        }
    }
}
