import ArgumentParser
import Foundation
import DynamoDB
import DynamoDBMessageStore
import Hummingbird
import Logging
import SendTest
import SQLiteMessageStore
import ServiceLifecycle
import Synchronization
import UnixSignals
import WebhookApp

/// The `qualia-webhook` command: parses arguments and hands over to `WebhookApp`.
@main
struct QualiaWebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qualia-webhook",
        abstract: "Receives Qualia message webhooks, stores them durably and serves them back.",
        subcommands: [Serve.self, SendTest.self, CreateTable.self, Migrate.self],
        defaultSubcommand: Serve.self
    )
}

/// `serve`: runs the HTTP service until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the webhook service (the default). Configured by environment variables and .env."
    )

    @Option(help: "The .env file to read, under the process environment.")
    var envFile = ".env"

    func run() async throws {
        let configuration: AppConfiguration
        do {
            configuration = try AppConfiguration(environment: AppConfiguration.environment(dotEnvPath: envFile))
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG
        }
        AllocatorTuning.apply()
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, logLevel: configuration.logLevel) }
        let logger = Logger(label: "qualia-webhook")
        // One registry for the process: what `GET /metrics` shows (none when METRICS_ENABLED=false).
        let metrics = ServiceMetrics(configuration.metrics)
        let tls = try await Self.tlsReloader(configuration.http.tls, metrics: metrics, logger: logger)
        if configuration.http.exposesCredentialsInClearText {
            logger.warning(
                """
                Plain HTTP on an address other hosts can reach: Basic credentials and messages cross the network in clear text. \
                Set TLS_CERT_PATH and TLS_KEY_PATH for HTTPS, or listen on 127.0.0.1 behind a TLS proxy; \
                ignore this only when a TLS-terminating proxy or load balancer is the sole way in
                """,
                metadata: ["host": .string(configuration.http.host)]
            )
        }
        do {
            let app = try await buildApplication(configuration, metrics: metrics, tls: tls, logger: logger)
            logger.info(
                "Starting qualia-webhook",
                metadata: [
                    "host": .string(configuration.http.host), "port": .stringConvertible(configuration.http.port),
                    "scheme": .string(tls == nil ? "http" : "https"),
                    "store": .string(configuration.store.name), "metrics_enabled": .stringConvertible(configuration.metrics.isEnabled),
                    "metrics_public": .stringConvertible(configuration.metrics.isPublic),
                ]
            )
            // SIGTERM and SIGINT stop accepting, let in-flight requests finish (for at most
            // SHUTDOWN_TIMEOUT_SECONDS), close the store, and exit 0. So does SIGHUP without
            // TLS, which has nothing to reload (its default would end the process mid-request).
            var group = ServiceGroupConfiguration(
                services: [.init(service: app)], gracefulShutdownSignals: tls == nil ? [.sigterm, .sigint, .sighup] : [.sigterm, .sigint],
                logger: logger
            )
            group.maximumGracefulShutdownDuration = configuration.http.shutdownTimeout
            try await ServiceGroup(configuration: group).run()
            logger.info("qualia-webhook stopped")
        } catch {
            logger.critical("qualia-webhook stopped", metadata: ["error": .string(String(describing: error))])
            throw ExitCode.failure
        }
    }

    /// With TLS files configured: the pair loaded and checked (any problem ends the process
    /// with 78 before anything listens), and a reloader that SIGHUP triggers.
    static func tlsReloader(_ files: AppConfiguration.TLSFiles?, metrics: ServiceMetrics, logger: Logger) async throws -> TLSReloader? {
        guard let files else { return nil }
        let pair: LoadedTLSPair
        do {
            pair = try TLSCertificateLoader.load(files)
        } catch {
            FileHandle.standardError.write(Data("\(ConfigurationError(problems: [error.description]))\n".utf8))
            throw ExitCode(78)  // EX_CONFIG
        }
        pair.warnIfKeyIsShared(files, logger: logger)
        logger.info(
            "TLS certificate loaded",
            metadata: [
                "subject": .string(pair.subject), "not_after": .string(pair.notValidAfter.formatted(.iso8601)),
                "certificate_path": .string(files.certificatePath),
            ]
        )
        // SIGHUP (certbot's deploy hook, say) asks for a reload instead of ending the process.
        let hangups = await UnixSignalsSequence(trapping: .sighup).map { @Sendable _ in }
        return TLSReloader(files: files, initial: pair, requests: hangups, metricsFactory: metrics.factory, logger: logger)
    }
}

/// `create-table`: creates the spec's DynamoDB table when it is missing, adds the orders
/// index to a table of the previous release, and backfills the order summaries it lacks.
struct CreateTable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-table",
        abstract: "Create the DynamoDB table (PK and SK strings, on-demand billing, the orders-by-activity index) if it is missing, "
            + "add the index to an existing table that lacks it, wait until both are ACTIVE, and backfill missing order summaries."
    )

    @Option(help: "The table name (default: DYNAMODB_TABLE from the environment or .env).")
    var table: String?

    func run() async throws {
        let settings: DynamoDBMessageStore.Settings
        do {
            settings = try AppConfiguration.Store.dynamoDBSettings(environment: try AppConfiguration.environment(), tableName: table)
        } catch let error as ConfigurationError {
            throw ValidationError(error.problems.joined(separator: "; ") + " (or give --table)")
        }
        let (table, region) = (settings.tableName, settings.region)
        let logger = Logger(label: "qualia-webhook")
        let client = try DynamoDBMessageStore.makeClient(settings, logger: logger)
        let store = DynamoDBMessageStore(configuration: .init(tableName: table), client: client, logger: logger)
        do {
            switch try await DynamoDBMessageStore.prepareTable(table, client: client) {
            case .created: print("Created table \(table) in \(region) with its orders index; it is ACTIVE.")
            case .addedOrdersIndex: print("Table \(table) already exists in \(region); added its orders index; both are ACTIVE.")
            case .unchanged: print("Table \(table) already exists in \(region) with its orders index; it is ACTIVE.")
            }
            let backfill = try await store.backfillOrderSummaries()
            print("Order summaries: \(backfill.written) written, of \(backfill.orders) orders with messages.")
            print("Change feed expiry (TTL on expiresAt) is on.")
            try await store.shutdown()
        } catch {
            try? await store.shutdown()
            FileHandle.standardError.write(Data("create-table failed: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

/// `migrate`: brings the configured store up to what this release needs. Idempotent: run it
/// before (or while) deploying a release, and again at any time.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring the store up to this release: with STORE=dynamodb, create the table if missing, add its orders index, "
            + "backfill order summaries unless already complete, and turn on the change feed's expiry (TTL on expiresAt); "
            + "with SQLite, open the file (which migrates its schema) and close it. Safe to run again."
    )

    @Option(help: "The .env file to read, under the process environment.")
    var envFile = ".env"

    func run() async throws {
        let store: AppConfiguration.Store
        do {
            store = try AppConfiguration.Store.from(environment: try AppConfiguration.environment(dotEnvPath: envFile))
        } catch let error as ConfigurationError {
            throw ValidationError(error.problems.joined(separator: "; "))
        }
        let logger = Logger(label: "qualia-webhook")
        do {
            switch store {
            case .sqlite(let path):
                try await SQLiteMessageStore.open(.init(path: path), logger: logger).shutdown()
                print("SQLite store at \(path) is migrated.")
            case .dynamoDB(let settings):
                let client = try DynamoDBMessageStore.makeClient(settings, logger: logger)
                do {
                    let report = try await DynamoDBMessageStore.migrate(settings.tableName, client: client, logger: logger)
                    try? await client.shutdown()
                    for line in Self.lines(report, table: settings.tableName, region: settings.region) { print(line) }
                } catch {
                    try? await client.shutdown()
                    throw error
                }
            }
        } catch {
            FileHandle.standardError.write(Data("migrate failed: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// What the migration did, one sentence a line.
    static func lines(_ report: DynamoDBMessageStore.MigrationReport, table: String, region: String) -> [String] {
        var lines: [String] = []
        switch report.tableSetup {
        case .created: lines.append("Created table \(table) in \(region) with its orders index; it is ACTIVE.")
        case .addedOrdersIndex: lines.append("Added the orders index to table \(table) in \(region); it is ACTIVE.")
        case .unchanged: lines.append("Table \(table) in \(region) has its orders index.")
        }
        if let backfill = report.backfill {
            lines.append("Order summaries backfilled: \(backfill.written) written, of \(backfill.orders) orders with messages.")
        } else {
            lines.append("Order summaries were already complete.")
        }
        lines.append(report.enabledFeedExpiry ? "Turned on the change feed's expiry (TTL on expiresAt)." : "The change feed's expiry (TTL on expiresAt) was already on.")
        return lines
    }
}

/// `send-test`: the spec's test script, against a running server.
struct SendTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-test",
        abstract: "Send a received and a sent message to a running server, list them back, find the order, fetch a message and mark it read, "
            + "find the changes in the change feed and receive one live on the stream; exit 1 if any step fails."
    )

    @Option(help: "The server's base URL.")
    var url = "http://localhost:8000"

    @Option(help: "The webhook user name (default: WEBHOOK_USERNAME from the environment or .env).")
    var user: String?

    @Option(help: "The webhook password (default: WEBHOOK_PASSWORD from the environment or .env).")
    var password: String?

    @Option(help: "The order id to use (default: a fresh QO-SENDTEST-… id).")
    var orderId: String?

    @Flag(help: "After the steps, follow the live stream and print each event (one JSON object per line) until interrupted.")
    var watch = false

    func run() async throws {
        let environment = (try? AppConfiguration.environment()) ?? ProcessInfo.processInfo.environment
        let fromEnvironment = AppConfiguration.Auth.webhookUser(in: environment)
        guard let user = user ?? fromEnvironment.username, let password = password ?? fromEnvironment.password else {
            throw ValidationError("Give --user and --password, or set WEBHOOK_USERNAME and WEBHOOK_PASSWORD.")
        }
        let runner = SendTestRunner(baseURL: url, username: user, password: password, orderID: orderId)
        let run = await runner.runAll { step in
            let number = step.title
            Self.say("\(step.passed ? "PASS" : "FAIL")  \(number)")
            Self.say("      \(step.request) -> \(step.status.map(String.init) ?? "no response")")
            if !step.body.isEmpty { Self.say("      \(step.body)") }
            if let failure = step.failure { Self.say("      \(failure)") }
        }
        let failed = run.steps.filter { !$0.passed }.count
        Self.say("\(run.steps.count - failed) passed, \(failed) failed")
        if watch {
            try await Self.watch(FeedStreamClient(baseURL: url, username: user, password: password), from: run.feedCursorBeforeRun)
        }
        if failed > 0 { throw ExitCode.failure }
    }

    /// Writes a line to standard output at once: unbuffered, so that the steps' lines and the
    /// watched events (written the same way) come out in order, also into a pipe.
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Prints every event after `cursor` (from the run's first change, so its own events
    /// come first), then each new one as it is stored; reconnects from the last event
    /// printed whenever the stream ends, as any client of it should.
    static func watch(_ client: FeedStreamClient, from cursor: String?) async throws {
        FileHandle.standardError.write(Data("Watching \(client.baseURL)/webhook/stream; Ctrl-C to stop.\n".utf8))
        let last = Mutex<String?>(cursor)
        while !Task.isCancelled {
            do {
                let ending = try await client.follow(after: last.withLock { $0 }) { event in
                    say(event.json)
                    last.withLock { $0 = event.cursor }
                    return true
                }
                let code = ending.closeCode.map(String.init) ?? "none"
                FileHandle.standardError.write(Data("Stream closed (code \(code), \(ending.reason ?? "no reason")); resuming.\n".utf8))
            } catch {
                FileHandle.standardError.write(Data("Stream failed (\(error)); resuming in 1 s.\n".utf8))
            }
            try await Task.sleep(for: .seconds(1))
        }
    }
}
