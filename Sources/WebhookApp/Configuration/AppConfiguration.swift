import DynamoDBMessageStore
import Foundation
import HTTPTypes
import Logging

/// Everything the service reads from its environment, checked once at start-up.
///
/// Read from the process environment and a `.env` file in the working directory; the
/// environment wins. The variable names are an interface: deployment scripts rely on them.
public struct AppConfiguration: Sendable {
    /// Which store keeps the messages.
    public enum StoreKind: String, Sendable, CaseIterable {
        /// The embedded SQLite file (the default).
        case sqlite
        /// An Amazon DynamoDB table.
        case dynamodb
    }

    /// `WEBHOOK_USERNAME` and `WEBHOOK_PASSWORD` (required): the HTTP Basic credentials that
    /// Qualia and readers must present.
    public var credentials: BasicCredentials
    /// `WEBHOOK_PASSWORD_PREVIOUS` (and `WEBHOOK_USERNAME_PREVIOUS`, default the current user
    /// name): a second accepted pair while credentials rotate, so no delivery is refused
    /// between changing the service and changing Qualia.
    public var previousCredentials: BasicCredentials?
    /// `AUTH_FAILURE_LIMIT`: failed authentications from one address, within the window,
    /// that lock it out. Default 10.
    public var authFailureLimit: Int
    /// `AUTH_FAILURE_WINDOW_SECONDS`: how far back failures count. Default 60.
    public var authFailureWindow: Duration
    /// `AUTH_LOCKOUT_SECONDS`: how long a locked-out address gets 429. Default 300.
    public var authLockout: Duration
    /// `CLIENT_ADDRESS_HEADER`: a header that names the client behind a proxy or load
    /// balancer, such as `X-Forwarded-For` (its last address is used). Default: none, the
    /// connection's peer address. Set it only when a proxy always sets that header.
    public var clientAddressHeader: String?
    /// `HOST`: the address to listen on. Default `127.0.0.1`; use `0.0.0.0` in a container.
    public var host: String
    /// `PORT`: the TCP port to listen on. Default `8000`.
    public var port: Int
    /// `STORE`: `sqlite` (default) or `dynamodb`.
    public var store: StoreKind
    /// `SQLITE_PATH`: the SQLite database file. Default `data/messages.sqlite`; its folder is
    /// created on start.
    public var sqlitePath: String
    /// `AWS_REGION`: the DynamoDB table's region. Default `us-east-1`.
    public var awsRegion: String
    /// `DYNAMODB_TABLE`: the DynamoDB table's name; required with `STORE=dynamodb`.
    public var dynamoDBTable: String?
    /// `AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL`: a DynamoDB endpoint other than
    /// the region's, such as a local moto server.
    public var dynamoDBEndpoint: String?
    /// The `AWS_*` variables (and `HOME`) that the credential chain reads: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_PROFILE`, `AWS_SHARED_CREDENTIALS_FILE`,
    /// `AWS_CONFIG_FILE`, `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`/`_FULL_URI`,
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`/`_FILE`, `AWS_EC2_METADATA_SERVICE_ENDPOINT`,
    /// `AWS_EC2_METADATA_DISABLED`.
    public var awsEnvironment: [String: String]
    /// `MAX_BODY_BYTES`: the largest request body accepted, in bytes. Default 262144 (256 KiB).
    public var maxBodyBytes: Int
    /// `LISTING_CACHE_BYTES`: how many bytes of encoded `GET` answers to keep while their
    /// order is unchanged (checked against the store on every request). Default 8388608
    /// (8 MiB); 0 turns the cache off.
    public var listingCacheBytes: Int
    /// `IDLE_TIMEOUT_SECONDS`: how long a connection may send nothing (between requests, or
    /// inside a request's head or body) before it is closed. Default 60. A request cut off
    /// this way is never stored or acknowledged.
    public var idleTimeout: Duration
    /// `SHUTDOWN_TIMEOUT_SECONDS`: on SIGTERM, how long in-flight requests may take to finish
    /// before they are cut off. Default 25 (under the usual 30 s before an orchestrator kills).
    public var shutdownTimeout: Duration
    /// `LOG_LEVEL`: `trace`, `debug`, `info` (default), `notice`, `warning`, `error` or `critical`.
    public var logLevel: Logger.Level

    /// Creates a configuration directly (tests build their own).
    public init(
        credentials: BasicCredentials,
        previousCredentials: BasicCredentials? = nil,
        authFailureLimit: Int = 10,
        authFailureWindow: Duration = .seconds(60),
        authLockout: Duration = .seconds(300),
        clientAddressHeader: String? = nil,
        host: String = "127.0.0.1",
        port: Int = 8000,
        store: StoreKind = .sqlite,
        sqlitePath: String = "data/messages.sqlite",
        awsRegion: String = "us-east-1",
        dynamoDBTable: String? = nil,
        dynamoDBEndpoint: String? = nil,
        awsEnvironment: [String: String] = [:],
        maxBodyBytes: Int = 256 * 1024,
        listingCacheBytes: Int = 8 * 1024 * 1024,
        idleTimeout: Duration = .seconds(60),
        shutdownTimeout: Duration = .seconds(25),
        logLevel: Logger.Level = .info
    ) {
        self.credentials = credentials
        self.previousCredentials = previousCredentials
        self.authFailureLimit = authFailureLimit
        self.authFailureWindow = authFailureWindow
        self.authLockout = authLockout
        self.clientAddressHeader = clientAddressHeader
        self.host = host
        self.port = port
        self.store = store
        self.sqlitePath = sqlitePath
        self.awsRegion = awsRegion
        self.dynamoDBTable = dynamoDBTable
        self.dynamoDBEndpoint = dynamoDBEndpoint
        self.awsEnvironment = awsEnvironment
        self.maxBodyBytes = maxBodyBytes
        self.listingCacheBytes = listingCacheBytes
        self.idleTimeout = idleTimeout
        self.shutdownTimeout = shutdownTimeout
        self.logLevel = logLevel
    }

    /// Reads the configuration from variables, reporting every missing or bad one at once.
    /// - Throws: ``ConfigurationError``.
    public init(environment: [String: String]) throws {
        var problems: [String] = []
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        func integer(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) -> Int {
            guard let text = value(name) else { return defaultValue }
            guard let number = Int(text), range.contains(number) else {
                problems.append("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
                return defaultValue
            }
            return number
        }

        let username = value("WEBHOOK_USERNAME")
        let password = value("WEBHOOK_PASSWORD")
        if username == nil { problems.append("WEBHOOK_USERNAME is not set") }
        if password == nil { problems.append("WEBHOOK_PASSWORD is not set") }

        let port = integer("PORT", default: 8000, in: 0...65535)
        let shutdownTimeout = integer("SHUTDOWN_TIMEOUT_SECONDS", default: 25, in: 1...3600)
        let idleTimeout = integer("IDLE_TIMEOUT_SECONDS", default: 60, in: 1...3600)
        let authFailureLimit = integer("AUTH_FAILURE_LIMIT", default: 10, in: 1...1_000_000)
        let authFailureWindow = integer("AUTH_FAILURE_WINDOW_SECONDS", default: 60, in: 1...86_400)
        let authLockout = integer("AUTH_LOCKOUT_SECONDS", default: 300, in: 1...86_400)
        let clientAddressHeader = value("CLIENT_ADDRESS_HEADER")
        if let clientAddressHeader, HTTPField.Name(clientAddressHeader) == nil {
            problems.append("CLIENT_ADDRESS_HEADER is not a valid header name")
        }
        let maxBodyBytes = integer("MAX_BODY_BYTES", default: 256 * 1024, in: 1024...(16 * 1024 * 1024))
        let listingCacheBytes = integer("LISTING_CACHE_BYTES", default: 8 * 1024 * 1024, in: 0...(1024 * 1024 * 1024))

        // Settings that are logged at start-up must hold only what their names promise, so
        // that a broken `.env` line can never carry a secret into the log through them.
        let host = value("HOST") ?? "127.0.0.1"
        if !Self.isHostName(host) { problems.append("HOST must be an IP address or a host name") }
        let sqlitePath = value("SQLITE_PATH") ?? "data/messages.sqlite"
        if sqlitePath.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            problems.append("SQLITE_PATH must not contain control characters")
        }
        let awsRegion = value("AWS_REGION") ?? "us-east-1"
        if !Self.isRegionName(awsRegion) { problems.append("AWS_REGION must be a region name such as us-east-1") }

        var store = StoreKind.sqlite
        if let name = value("STORE") {
            if let kind = StoreKind(rawValue: name.lowercased()) {
                store = kind
            } else {
                problems.append("STORE must be \"sqlite\" or \"dynamodb\"")
            }
        }
        let dynamoDBTable = value("DYNAMODB_TABLE")
        if store == .dynamodb && dynamoDBTable == nil {
            problems.append("DYNAMODB_TABLE is not set, and STORE=dynamodb needs it")
        }
        if let dynamoDBTable, !Self.isTableName(dynamoDBTable) {
            problems.append("DYNAMODB_TABLE must be 3 to 255 letters, digits, '_', '-' or '.'")
        }

        var logLevel = Logger.Level.info
        if let name = value("LOG_LEVEL") {
            if let level = Logger.Level(rawValue: name.lowercased()) {
                logLevel = level
            } else {
                problems.append("LOG_LEVEL must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        guard problems.isEmpty, let username, let password else { throw ConfigurationError(problems: problems) }
        self.init(
            credentials: BasicCredentials(username: username, password: password),
            previousCredentials: value("WEBHOOK_PASSWORD_PREVIOUS").map {
                BasicCredentials(username: value("WEBHOOK_USERNAME_PREVIOUS") ?? username, password: $0)
            },
            authFailureLimit: authFailureLimit,
            authFailureWindow: .seconds(authFailureWindow),
            authLockout: .seconds(authLockout),
            clientAddressHeader: clientAddressHeader,
            host: host,
            port: port,
            store: store,
            sqlitePath: sqlitePath,
            awsRegion: awsRegion,
            dynamoDBTable: dynamoDBTable,
            dynamoDBEndpoint: DynamoDBMessageStore.Settings.endpointOverride(in: environment),
            awsEnvironment: environment.filter { $0.key.hasPrefix("AWS_") || $0.key == "HOME" },
            maxBodyBytes: maxBodyBytes,
            listingCacheBytes: listingCacheBytes,
            idleTimeout: .seconds(idleTimeout),
            shutdownTimeout: .seconds(shutdownTimeout),
            logLevel: logLevel
        )
    }

    /// An IP address (v4, or v6 with or without brackets) or a DNS host name: ASCII letters,
    /// digits and `.-:[]%_` only, at most 255 characters.
    static func isHostName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 255
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-:[]%_".unicodeScalars.contains($0)) }
    }

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

    /// The process environment over the `.env` file at `dotEnvPath` (the environment wins).
    /// - Throws: ``DotEnv/ParseError`` when the file exists but cannot be read.
    public static func environment(
        dotEnvPath: String = ".env",
        processEnvironment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> [String: String] {
        try DotEnv.load(path: dotEnvPath).merging(processEnvironment) { _, fromProcess in fromProcess }
    }
}

/// The configuration is incomplete or wrong; lists every problem, never a secret's value.
public struct ConfigurationError: Error, Hashable, CustomStringConvertible {
    /// One sentence per problem.
    public var problems: [String]

    public var description: String {
        "qualia-webhook cannot start:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
            + "\nSet these in the environment or in a .env file in the working directory (see .env.example)."
    }
}
