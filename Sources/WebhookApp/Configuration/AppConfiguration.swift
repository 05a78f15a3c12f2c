import AWSSigning
import DynamoDBMessageStore
import Foundation
import HTTPTypes
import Logging
import MessageStore

/// Everything the service reads from its environment, in groups, checked once at start-up.
///
/// Read from the process environment and a `.env` file in the working directory; the
/// environment wins. The variable names are an interface: deployment scripts rely on them.
/// Each group reads its own variables and writes its defaults once (its initializer's), so a
/// subcommand that needs one group (`create-table` the store's) reads just that group.
public struct AppConfiguration: Sendable {
    /// How the service listens and serves HTTP.
    public var http: HTTP
    /// Who may call it, and how failed attempts are counted.
    public var auth: Auth
    /// Where messages are kept.
    public var store: Store
    /// `LOG_LEVEL`: `trace`, `debug`, `info` (default), `notice`, `warning`, `error` or `critical`.
    public var logLevel: Logger.Level
    /// The change feed and its live stream.
    public var feed: Feed
    /// The attachment archive.
    public var attachments: Attachments
    /// What the service measures and who may read it (`GET /metrics`).
    public var metrics: Metrics

    /// Creates a configuration directly (tests build their own).
    public init(
        auth: Auth, http: HTTP = HTTP(), store: Store = .default, logLevel: Logger.Level = .info, feed: Feed = .init(),
        attachments: Attachments = .init(), metrics: Metrics = .init()
    ) {
        self.metrics = metrics
        self.http = http
        self.auth = auth
        self.store = store
        self.logLevel = logLevel
        self.feed = feed
        self.attachments = attachments
    }

    /// Reads the configuration from variables, reporting every missing or bad one at once.
    /// - Throws: ``ConfigurationError``.
    public init(environment: [String: String]) throws {
        var reader = EnvironmentReader(environment)
        let http = HTTP(reading: &reader)
        let auth = Auth.read(&reader)
        let store = Store.read(&reader)
        let feed = Feed(reading: &reader)
        let attachments = Attachments(reading: &reader)
        let metrics = Metrics(reading: &reader)
        var logLevel = Logger.Level.info
        if let name = reader.value("LOG_LEVEL") {
            if let level = Logger.Level(rawValue: name.lowercased()) {
                logLevel = level
            } else {
                reader.fail("LOG_LEVEL must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        guard reader.problems.isEmpty, let auth else { throw ConfigurationError(problems: reader.problems) }
        self.init(auth: auth, http: http, store: store, logLevel: logLevel, feed: feed, attachments: attachments, metrics: metrics)
    }

    /// The process environment over the `.env` file at `dotEnvPath` (the environment wins).
    /// - Throws: ``DotEnv/ParseError`` when the file exists but cannot be read.
    public static func environment(
        dotEnvPath: String = ".env",
        processEnvironment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> [String: String] {
        try DotEnv.load(path: dotEnvPath).merging(processEnvironment) { _, fromProcess in fromProcess }
    }
}

extension AppConfiguration {
    /// How the service listens and serves HTTP.
    public struct HTTP: Sendable {
        /// `HOST`: the address to listen on. Default `127.0.0.1`; `0.0.0.0` in a container.
        /// Checked to be a host name or address, since the start-up log shows it.
        public var host: String
        /// `PORT`: the TCP port. Default `8000`.
        public var port: Int
        /// `MAX_BODY_BYTES`: the largest request body accepted. Default 262144 (256 KiB).
        public var maxBodyBytes: Int
        /// `IDLE_TIMEOUT_SECONDS`: how long a connection may send nothing (between requests, or
        /// inside a request's head or body) before it is closed. Default 60. A request cut off
        /// this way is never stored or acknowledged.
        public var idleTimeout: Duration
        /// `SHUTDOWN_TIMEOUT_SECONDS`: on SIGTERM, how long in-flight requests may take to
        /// finish before they are cut off. Default 25 (under the usual 30 s before a kill).
        public var shutdownTimeout: Duration
        /// `LISTING_CACHE_BYTES`: bytes of encoded `GET` answers kept while their order is
        /// unchanged (checked against the store on every request). Default 8388608 (8 MiB);
        /// 0 turns the cache off.
        public var listingCacheBytes: Int
        /// `TLS_CERT_PATH` and `TLS_KEY_PATH` (both or neither): HTTPS on the listener with this
        /// PEM certificate (chain) and key. `nil`: plain HTTP.
        public var tls: TLSFiles?

        /// Creates HTTP settings; the defaults are the service's.
        public init(
            host: String = "127.0.0.1", port: Int = 8000, maxBodyBytes: Int = 256 * 1024, idleTimeout: Duration = .seconds(60),
            shutdownTimeout: Duration = .seconds(25), listingCacheBytes: Int = 8 * 1024 * 1024, tls: TLSFiles? = nil
        ) {
            self.tls = tls
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.idleTimeout = idleTimeout
            self.shutdownTimeout = shutdownTimeout
            self.listingCacheBytes = listingCacheBytes
        }

        init(reading reader: inout EnvironmentReader) {
            let defaults = HTTP()
            self.init(
                host: reader.checked("HOST", default: defaults.host, rule: "an IP address or a host name", AppConfiguration.isHostName),
                port: reader.integer("PORT", default: defaults.port, in: 0...65535),
                maxBodyBytes: reader.integer("MAX_BODY_BYTES", default: defaults.maxBodyBytes, in: 1024...(16 * 1024 * 1024)),
                idleTimeout: reader.seconds("IDLE_TIMEOUT_SECONDS", default: defaults.idleTimeout, in: 1...3600),
                shutdownTimeout: reader.seconds("SHUTDOWN_TIMEOUT_SECONDS", default: defaults.shutdownTimeout, in: 1...3600),
                listingCacheBytes: reader.integer("LISTING_CACHE_BYTES", default: defaults.listingCacheBytes, in: 0...(1024 * 1024 * 1024)),
                tls: TLSFiles.read(&reader)
            )
        }

        /// Whether the listener is plain HTTP on an address other hosts can reach, so Basic
        /// credentials would cross the network in clear text (worth a warning at start).
        public var exposesCredentialsInClearText: Bool {
            tls == nil && !AppConfiguration.isLoopback(host)
        }
    }

    /// The PEM files that turn HTTPS on: `TLS_CERT_PATH` (the certificate, followed by any
    /// intermediates: a chain such as certbot's `fullchain.pem`) and `TLS_KEY_PATH` (its key).
    public struct TLSFiles: Sendable, Hashable {
        /// `TLS_CERT_PATH`: the certificate chain, leaf first.
        public var certificatePath: String
        /// `TLS_KEY_PATH`: the certificate's private key, unencrypted.
        public var keyPath: String

        /// Names the two files.
        public init(certificatePath: String, keyPath: String) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
        }

        /// Both paths, or `nil` when neither is set; one without the other is a problem.
        static func read(_ reader: inout EnvironmentReader) -> TLSFiles? {
            let certificate = reader.value("TLS_CERT_PATH"), key = reader.value("TLS_KEY_PATH")
            switch (certificate, key) {
            case (let certificate?, let key?): return TLSFiles(certificatePath: certificate, keyPath: key)
            case (nil, nil): return nil
            case (nil, _?):
                reader.fail("TLS_KEY_PATH is set but TLS_CERT_PATH is not; HTTPS needs both (or neither, for plain HTTP)")
            case (_?, nil):
                reader.fail("TLS_CERT_PATH is set but TLS_KEY_PATH is not; HTTPS needs both (or neither, for plain HTTP)")
            }
            return nil
        }
    }

    /// Who may call the service, and how failed attempts are counted.
    public struct Auth: Sendable {
        /// `WEBHOOK_USERNAME` and `WEBHOOK_PASSWORD` (required): the HTTP Basic credentials that
        /// Qualia and readers must present.
        public var credentials: BasicCredentials
        /// `WEBHOOK_PASSWORD_PREVIOUS` (and `WEBHOOK_USERNAME_PREVIOUS`, default the current user
        /// name): a second accepted pair while credentials rotate, so no delivery is refused
        /// between changing the service and changing Qualia.
        public var previousCredentials: BasicCredentials?
        /// `AUTH_FAILURE_LIMIT`: failed authentications within the window that lock out one
        /// client address for one user name. Default 10.
        public var failureLimit: Int
        /// `AUTH_FAILURE_WINDOW_SECONDS`: how long failures count, from the first. Default 60.
        public var failureWindow: Duration
        /// `AUTH_LOCKOUT_SECONDS`: how long a lockout answers 429. Default 300.
        public var lockout: Duration
        /// `CLIENT_ADDRESS_HEADER`: a header that names the client behind a proxy or load
        /// balancer, such as `X-Forwarded-For` (its last address is used). Default: none, the
        /// connection's peer address. Set it only when a proxy always sets that header.
        public var clientAddressHeader: String?
        /// `READER_USERNAME` and `READER_PASSWORD` (optional, both or neither): credentials that
        /// may read (every `GET`, and the read-status `PATCH`) but never deliver (`POST` is 403).
        /// The user name must differ from the webhook user names.
        public var readerCredentials: BasicCredentials?

        /// Creates auth settings; the defaults are the service's.
        public init(
            credentials: BasicCredentials, previousCredentials: BasicCredentials? = nil, failureLimit: Int = 10,
            failureWindow: Duration = .seconds(60), lockout: Duration = .seconds(300), clientAddressHeader: String? = nil,
            readerCredentials: BasicCredentials? = nil
        ) {
            self.credentials = credentials
            self.previousCredentials = previousCredentials
            self.failureLimit = failureLimit
            self.failureWindow = failureWindow
            self.lockout = lockout
            self.clientAddressHeader = clientAddressHeader
            self.readerCredentials = readerCredentials
        }

        /// Every accepted pair with what it may do: the webhook pairs (current and previous)
        /// and the reader's.
        public var accessGrants: [(BasicCredentials, AccessRole)] {
            var grants = [(credentials, AccessRole.webhook)]
            if let previousCredentials { grants.append((previousCredentials, .webhook)) }
            if let readerCredentials { grants.append((readerCredentials, .reader)) }
            return grants
        }

        /// `WEBHOOK_USERNAME` and `WEBHOOK_PASSWORD`, each when set (`send-test` fills in
        /// what its options do not give).
        public static func webhookUser(in environment: [String: String]) -> (username: String?, password: String?) {
            let reader = EnvironmentReader(environment)
            return (reader.value("WEBHOOK_USERNAME"), reader.value("WEBHOOK_PASSWORD"))
        }

        /// The auth settings, or `nil` (with the reasons among the reader's problems) when the
        /// credentials are missing.
        static func read(_ reader: inout EnvironmentReader) -> Auth? {
            let (username, password) = webhookUser(in: reader.environment)
            if username == nil { reader.fail("WEBHOOK_USERNAME is not set") }
            if password == nil { reader.fail("WEBHOOK_PASSWORD is not set") }
            let clientAddressHeader = reader.value("CLIENT_ADDRESS_HEADER")
            if let clientAddressHeader, HTTPField.Name(clientAddressHeader) == nil {
                reader.fail("CLIENT_ADDRESS_HEADER is not a valid header name")
            }
            let readerUsername = reader.value("READER_USERNAME"), readerPassword = reader.value("READER_PASSWORD")
            if (readerUsername == nil) != (readerPassword == nil) {
                reader.fail("READER_USERNAME and READER_PASSWORD must be set together")
            }
            let webhookUsernames = [username, reader.value("WEBHOOK_USERNAME_PREVIOUS")].compactMap { $0 }
            if let readerUsername, webhookUsernames.contains(where: { Array($0.utf8) == Array(readerUsername.utf8) }) {
                reader.fail("READER_USERNAME must differ from WEBHOOK_USERNAME and WEBHOOK_USERNAME_PREVIOUS")
            }
            guard let username, let password else { return nil }
            let credentials = BasicCredentials(username: username, password: password)
            let defaults = Auth(credentials: credentials)
            return Auth(
                credentials: credentials,
                previousCredentials: reader.value("WEBHOOK_PASSWORD_PREVIOUS").map {
                    BasicCredentials(username: reader.value("WEBHOOK_USERNAME_PREVIOUS") ?? credentials.username, password: $0)
                },
                failureLimit: reader.integer("AUTH_FAILURE_LIMIT", default: defaults.failureLimit, in: 1...1_000_000),
                failureWindow: reader.seconds("AUTH_FAILURE_WINDOW_SECONDS", default: defaults.failureWindow, in: 1...86_400),
                lockout: reader.seconds("AUTH_LOCKOUT_SECONDS", default: defaults.lockout, in: 1...86_400),
                clientAddressHeader: clientAddressHeader,
                readerCredentials: readerUsername.flatMap { name in readerPassword.map { BasicCredentials(username: name, password: $0) } }
            )
        }
    }

    /// `STORE`: where messages are kept, with that store's settings.
    public enum Store: Sendable, Hashable {
        /// `STORE=sqlite` (the default): the embedded file at `SQLITE_PATH` (default
        /// `data/messages.sqlite`; its folder is created on start).
        case sqlite(path: String)
        /// `STORE=dynamodb`: the table `DYNAMODB_TABLE` (required) in the AWS region
        /// (``AppConfiguration/awsRegion(_:)``), at `AWS_ENDPOINT_URL_DYNAMODB` or `AWS_ENDPOINT_URL`
        /// when set, else at the region's endpoint that `AWS_USE_FIPS_ENDPOINT` and
        /// `AWS_USE_DUALSTACK_ENDPOINT` (`true` or `false`, default `false`) choose, with
        /// credentials from the AWS SDKs' chain (the `AWS_*` variables and `HOME`).
        case dynamoDB(DynamoDBMessageStore.Settings)

        /// The embedded store at its default path.
        public static let `default` = Store.sqlite(path: "data/messages.sqlite")

        /// `sqlite` or `dynamodb`, as `STORE` names it.
        public var name: String {
            switch self {
            case .sqlite: "sqlite"
            case .dynamoDB: "dynamodb"
            }
        }

        static func read(_ reader: inout EnvironmentReader) -> Store {
            switch reader.value("STORE")?.lowercased() {
            case nil, "sqlite":
                guard case .sqlite(let defaultPath) = Store.default else { return .default }
                let path = reader.checked("SQLITE_PATH", default: defaultPath, rule: "a path without control characters") { path in
                    !path.unicodeScalars.contains { $0.properties.generalCategory == .control }
                }
                return .sqlite(path: path)
            case "dynamodb":
                return .dynamoDB(dynamoDBSettings(reading: &reader))
            default:
                reader.fail("STORE must be \"sqlite\" or \"dynamodb\"")
                return .default
            }
        }

        /// The store's settings alone (`STORE` and its variables), as `migrate` needs them.
        /// - Throws: ``ConfigurationError`` listing every missing or bad variable.
        public static func from(environment: [String: String]) throws -> Store {
            var reader = EnvironmentReader(environment)
            let store = read(&reader)
            guard reader.problems.isEmpty else { throw ConfigurationError(problems: reader.problems) }
            return store
        }

        /// The DynamoDB store's settings alone, as `create-table` needs them.
        /// - Parameter tableName: A table that overrides `DYNAMODB_TABLE`.
        /// - Throws: ``ConfigurationError`` listing every missing or bad variable.
        public static func dynamoDBSettings(environment: [String: String], tableName: String? = nil) throws -> DynamoDBMessageStore.Settings {
            var reader = EnvironmentReader(environment)
            let settings = dynamoDBSettings(reading: &reader, tableName: tableName)
            guard reader.problems.isEmpty else { throw ConfigurationError(problems: reader.problems) }
            return settings
        }

        private static func dynamoDBSettings(reading reader: inout EnvironmentReader, tableName: String? = nil) -> DynamoDBMessageStore.Settings {
            let table = tableName ?? reader.value("DYNAMODB_TABLE")
            if table == nil {
                reader.fail("DYNAMODB_TABLE is not set, and STORE=dynamodb needs it")
            } else if let table, !AppConfiguration.isTableName(table) {
                reader.fail("DYNAMODB_TABLE must be 3 to 255 letters, digits, '_', '-' or '.'")
            }
            return DynamoDBMessageStore.Settings(
                tableName: table ?? "",
                region: AppConfiguration.awsRegion(&reader).name,
                endpoint: DynamoDBMessageStore.Settings.endpointOverride(in: reader.environment),
                useFIPSEndpoint: reader.boolean("AWS_USE_FIPS_ENDPOINT", default: false),
                useDualStackEndpoint: reader.boolean("AWS_USE_DUALSTACK_ENDPOINT", default: false),
                awsEnvironment: reader.environment.filter { $0.key.hasPrefix("AWS_") || $0.key == "HOME" },
                withheldVariables: AppConfiguration.secretVariables
            )
        }
    }
}

extension AppConfiguration {
    /// The change feed (`/webhook/feed`) and its live stream (`/webhook/stream`).
    public struct Feed: Sendable, Hashable {
        /// `FEED_RETENTION_DAYS`: how long events are kept, 1 to 3650 days (default 30).
        public var retention: FeedRetention
        /// How far behind the newest event a live subscriber may fall, in events, before it is
        /// closed with 1013 to resume from its last cursor; also the most events kept in memory
        /// for subscribers is four times this.
        public var maximumSubscriberLag: Int

        /// Creates feed settings; the defaults are the service's.
        public init(retention: FeedRetention = .default, maximumSubscriberLag: Int = 2048) {
            self.retention = retention
            self.maximumSubscriberLag = maximumSubscriberLag
        }

        init(reading reader: inout EnvironmentReader) {
            let days = reader.integer("FEED_RETENTION_DAYS", default: 30, in: 1...3650)
            self.init(retention: FeedRetention(days: days))
        }
    }
}

extension AppConfiguration {
    /// What the service measures, and who may read it at `GET /metrics` (Prometheus text).
    public struct Metrics: Sendable, Hashable {
        /// `METRICS_ENABLED` (`true` or `false`, default `true`): whether anything is measured.
        /// When `false` nothing is recorded and `/metrics` answers 404.
        public var isEnabled: Bool
        /// `METRICS_PUBLIC` (`true` or `false`, default `false`): whether `/metrics` answers
        /// without credentials. Otherwise it needs the webhook's or the reader's.
        public var isPublic: Bool

        /// Creates metrics settings; the defaults are the service's.
        public init(isEnabled: Bool = true, isPublic: Bool = false) {
            self.isEnabled = isEnabled
            self.isPublic = isPublic
        }

        init(reading reader: inout EnvironmentReader) {
            let defaults = Metrics()
            self.init(
                isEnabled: reader.boolean("METRICS_ENABLED", default: defaults.isEnabled),
                isPublic: reader.boolean("METRICS_PUBLIC", default: defaults.isPublic)
            )
        }
    }
}

extension AppConfiguration {
    /// An IP address (v4, or v6 with or without brackets) or a DNS host name: ASCII letters,
    /// digits and `.-:[]%_` only, at most 255 characters.
    static func isHostName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 255
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-:[]%_".unicodeScalars.contains($0)) }
    }

    /// A loopback address or name (`localhost`, `127.0.0.0/8`, `::1`): only this host can connect.
    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        return host == "localhost" || host.hasSuffix(".localhost") || host == "::1" || host == "[::1]"
            || (host.hasPrefix("127.") && host.split(separator: ".").count == 4)
    }

    /// The AWS region, as the AWS SDKs find it (``AWSRegion/resolve(environment:)``):
    /// `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the `region` of the profile (`AWS_PROFILE`,
    /// else `default`) in `AWS_CONFIG_FILE` (default `~/.aws/config`), then `us-east-1`.
    /// Checked to be a region name wherever it came from, since the start-up log shows it.
    /// An `AWS_PROFILE` that names no profile in the shared files is refused here, at start,
    /// as the AWS CLI refuses it.
    static func awsRegion(_ reader: inout EnvironmentReader) -> AWSRegion {
        do {
            try SharedConfigFiles(environment: reader.environment).requireSelectedProfile()
        } catch {
            reader.fail(error.reason)
        }
        let region = AWSRegion.resolve(environment: reader.environment)
        if !isRegionName(region.name) {
            switch region.source {
            case .awsRegion, .awsDefaultRegion: reader.fail("\(region.source) must be a region name such as us-east-1")
            case .profile(let name): reader.fail("the region of AWS profile \(name) must be a region name such as us-east-1")
            case .default: break
            }
        }
        return region
    }

    /// The variables that hold this service's own credentials. A `credential_process`
    /// program never gets them: it needs the `AWS_*` variables, not the webhook's passwords.
    public static let secretVariables: Set<String> = [
        "WEBHOOK_USERNAME", "WEBHOOK_PASSWORD", "WEBHOOK_USERNAME_PREVIOUS", "WEBHOOK_PASSWORD_PREVIOUS", "READER_USERNAME", "READER_PASSWORD",
    ]

    /// An AWS region name such as `us-east-1`: lowercase letters, digits and `-`.
    static func isRegionName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64
            && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// A DynamoDB table name, by DynamoDB's rules: 3 to 255 of `[A-Za-z0-9_.-]`.
    static func isTableName(_ text: String) -> Bool {
        (3...255).contains(text.utf8.count)
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0)) }
    }

}

/// The configuration is incomplete or wrong; lists every problem, never a secret's value.
public struct ConfigurationError: Error, Hashable, CustomStringConvertible {
    /// One sentence per problem.
    public var problems: [String]

    /// The problems found, one sentence each.
    public init(problems: [String]) {
        self.problems = problems
    }

    public var description: String {
        "qualia-webhook cannot start:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
            + "\nSet these in the environment or in a .env file in the working directory (see .env.example)."
    }
}
