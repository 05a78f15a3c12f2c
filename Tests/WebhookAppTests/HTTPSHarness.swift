import Foundation
import Hummingbird
import Logging
import StoreTestSupport
import Synchronization
import Testing

@testable import WebhookApp

#if canImport(Glibc)
import Glibc
#endif

// What the HTTPS tests share: a live HTTPS server, certificates made by Debian's `openssl`,
// and the command-line clients (`curl`, `openssl s_client`) and the real binary they drive.

/// Runs the real application over HTTPS on a free loopback port until `body` returns,
/// with metrics on (readable at `/metrics` with the test credentials).
func withHTTPSServer(
    _ files: AppConfiguration.TLSFiles, pollInterval: Duration? = nil, idleTimeout: Duration = .seconds(60),
    _ body: @Sendable (Int, TLSReloader, LogCapture) async throws -> Void
) async throws {
    let port = try freeLoopbackPort()
    let logs = LogCapture()
    let configuration = AppConfiguration(
        auth: .init(credentials: testCredentials),
        http: .init(port: port, idleTimeout: idleTimeout, shutdownTimeout: min(idleTimeout, .seconds(25)), tls: files)
    )
    let metrics = ServiceMetrics(configuration.metrics)
    let reloader = TLSReloader(
        files: files, initial: try TLSCertificateLoader.load(files), pollInterval: pollInterval, metricsFactory: metrics.factory,
        logger: logs.logger()
    )
    try await withStore(.sqlite) { store in
        let app = buildApplication(configuration, store: store, metrics: metrics, tls: reloader, logger: logs.logger())
        let running = Task { try await app.runService() }
        do {
            try await Curl.waitFor(["-k", "https://127.0.0.1:\(port)/health"])
            try await body(port, reloader, logs)
        } catch {
            running.cancel()
            _ = await running.result
            throw error
        }
        running.cancel()
        _ = await running.result
    }
}

/// The value of one series in the server's `/metrics` (0 when it is absent).
func metric(_ series: String, port: Int, trusting pair: AppConfiguration.TLSFiles) async throws -> Double {
    let run = try await runCommand("/usr/bin/curl", [
        "-sS", "--max-time", "\(Curl.maxTime)", "--cacert", pair.certificatePath, "-u", "\(testCredentials.username):\(testCredentials.password)",
        "https://127.0.0.1:\(port)/metrics",
    ])
    guard run.status == 0 else { throw CommandFailure(command: "curl /metrics", output: run.output) }
    let line = run.output.split(separator: "\n").first { $0.hasPrefix(series + " ") }
    return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
}

/// The text a WebSocket handler received, for the test to read afterwards.
final class ReceivedText: Sendable {
    let text = Mutex<String?>(nil)
}

/// Certificates made by `openssl` for the tests, each valid for 127.0.0.1 and localhost.
enum Certificates {
    /// The kind of key a certificate is made with.
    enum KeyType: String, Sendable, CustomTestStringConvertible {
        /// P-256, as certbot makes by default.
        case ec
        /// RSA 2048, as many internal CAs still issue.
        case rsa

        var testDescription: String { rawValue }

        /// `openssl req`'s options for a new key of this kind.
        var newKeyOptions: [String] {
            switch self {
            case .ec: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
            case .rsa: ["-newkey", "rsa:2048"]
            }
        }
    }

    /// A self-signed certificate and its key (mode 600), valid for two days.
    static func selfSigned(
        _ name: String, commonName: String? = nil, key: KeyType = .ec, in folder: TemporaryDirectory
    ) async throws -> AppConfiguration.TLSFiles {
        let files = AppConfiguration.TLSFiles(certificatePath: folder.path("\(name)-cert.pem"), keyPath: folder.path("\(name)-key.pem"))
        try await OpenSSL.run(
            ["req", "-x509"] + key.newKeyOptions + ["-nodes", "-keyout", files.keyPath, "-out",
            files.certificatePath, "-days", "2", "-subj", "/CN=\(commonName ?? name)", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ]
        )
        chmod(files.keyPath, 0o600)
        return files
    }

    /// A self-signed certificate that was valid on 1 January 2020 only.
    static func expired(_ name: String, in folder: TemporaryDirectory) async throws -> AppConfiguration.TLSFiles {
        try await dated(name, from: "20200101000000Z", to: "20200102000000Z", in: folder)
    }

    /// A self-signed certificate valid between two `openssl` times (`openssl ca` can date
    /// it; `req -x509` cannot on OpenSSL 3.0).
    static func dated(_ name: String, from start: String, to end: String, in folder: TemporaryDirectory) async throws -> AppConfiguration.TLSFiles {
        let files = AppConfiguration.TLSFiles(certificatePath: folder.path("\(name)-cert.pem"), keyPath: folder.path("\(name)-key.pem"))
        let ca = folder.path("\(name)-ca")
        try FileManager.default.createDirectory(atPath: ca, withIntermediateDirectories: true)
        try """
        [ ca ]
        default_ca = test
        [ test ]
        database = \(ca)/index.txt
        new_certs_dir = \(ca)
        serial = \(ca)/serial
        default_md = sha256
        policy = any
        [ any ]
        commonName = supplied
        """.write(toFile: "\(ca)/ca.cnf", atomically: true, encoding: .utf8)
        try "".write(toFile: "\(ca)/index.txt", atomically: true, encoding: .utf8)
        try "01\n".write(toFile: "\(ca)/serial", atomically: true, encoding: .utf8)
        try await OpenSSL.run([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", files.keyPath, "-out",
            "\(ca)/request.csr", "-subj", "/CN=\(name)",
        ])
        try await OpenSSL.run([
            "ca", "-batch", "-config", "\(ca)/ca.cnf", "-selfsign", "-keyfile", files.keyPath, "-in", "\(ca)/request.csr",
            "-startdate", start, "-enddate", end, "-out", files.certificatePath,
        ])
        chmod(files.keyPath, 0o600)
        return files
    }

    /// What an internal CA issues: a root, an intermediate it signed, and a leaf for
    /// localhost and 127.0.0.1 that the intermediate signed.
    struct Chain {
        /// The root's certificate, which clients trust.
        var root: String
        /// The leaf alone.
        var leaf: String
        /// The leaf followed by the intermediate (the certificate file a server is given), and the leaf's key.
        var served: AppConfiguration.TLSFiles
    }

    /// Makes a root, an intermediate and a leaf, each valid for two days.
    static func chain(in folder: TemporaryDirectory) async throws -> Chain {
        let ec = KeyType.ec.newKeyOptions
        let caExtensions = folder.path("ca.ext"), leafExtensions = folder.path("leaf.ext")
        try "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n".write(toFile: caExtensions, atomically: true, encoding: .utf8)
        try "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
            .write(toFile: leafExtensions, atomically: true, encoding: .utf8)
        let root = folder.path("root-cert.pem"), rootKey = folder.path("root-key.pem")
        try await OpenSSL.run(["req", "-x509"] + ec + ["-nodes", "-keyout", rootKey, "-out", root, "-days", "2", "-subj", "/CN=Test Root CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        func issue(_ name: String, subject: String, by issuer: String, issuerKey: String, extensions: String) async throws -> (String, String) {
            let certificate = folder.path("\(name)-cert.pem"), key = folder.path("\(name)-key.pem"), request = folder.path("\(name).csr")
            try await OpenSSL.run(["req", "-new"] + ec + ["-nodes", "-keyout", key, "-out", request, "-subj", subject])
            try await OpenSSL.run([
                "x509", "-req", "-in", request, "-CA", issuer, "-CAkey", issuerKey, "-CAcreateserial", "-days", "2", "-extfile", extensions,
                "-out", certificate,
            ])
            chmod(key, 0o600)
            return (certificate, key)
        }
        let (intermediate, intermediateKey) = try await issue(
            "intermediate", subject: "/CN=Test Intermediate CA", by: root, issuerKey: rootKey, extensions: caExtensions
        )
        let (leaf, leafKey) = try await issue("leaf", subject: "/CN=localhost", by: intermediate, issuerKey: intermediateKey, extensions: leafExtensions)
        let fullChain = folder.path("fullchain.pem")
        try (String(contentsOfFile: leaf, encoding: .utf8) + String(contentsOfFile: intermediate, encoding: .utf8))
            .write(toFile: fullChain, atomically: true, encoding: .utf8)
        return Chain(root: root, leaf: leaf, served: .init(certificatePath: fullChain, keyPath: leafKey))
    }

    /// The paths a server is given (`served-cert.pem`, `served-key.pem`), holding a copy of
    /// `pair` for now, so a test can renew them with ``install(_:as:)``.
    static func served(_ pair: AppConfiguration.TLSFiles, in folder: TemporaryDirectory) throws -> AppConfiguration.TLSFiles {
        let served = AppConfiguration.TLSFiles(certificatePath: folder.path("served-cert.pem"), keyPath: folder.path("served-key.pem"))
        try install(pair, as: served)
        return served
    }

    /// Copies a pair onto the served paths, each file replaced by a rename as a deployment would.
    static func install(_ pair: AppConfiguration.TLSFiles, as served: AppConfiguration.TLSFiles) throws {
        for (from, to) in [(pair.certificatePath, served.certificatePath), (pair.keyPath, served.keyPath)] {
            let temporary = to + ".new"
            try? FileManager.default.removeItem(atPath: temporary)
            try FileManager.default.copyItem(atPath: from, toPath: temporary)
            chmod(temporary, 0o600)
            guard rename(temporary, to) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
    }
}

/// A command's exit status and its standard output and error together.
struct CommandRun {
    var status: Int32
    var output: String
}

/// Runs a command to its end, waiting on a thread of its own: a blocking wait on one of the
/// test pool's threads (two on a 2-core machine) would stall every other suite's tasks, the
/// servers' request handlers included, for as long as the command runs.
func runCommand(_ path: String, _ arguments: [String]) async throws -> CommandRun {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try runCommandBlocking(path, arguments) }) }
    }
}

private func runCommandBlocking(_ path: String, _ arguments: [String]) throws -> CommandRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandRun(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
}

/// Debian's `openssl`.
enum OpenSSL {
    static func run(_ arguments: [String]) async throws {
        let run = try await runCommand("/usr/bin/openssl", arguments)
        guard run.status == 0 else { throw CommandFailure(command: "openssl \(arguments.joined(separator: " "))", output: run.output) }
    }
}

/// `curl`, quiet but for errors, its body thrown away: `output` is what `-w` writes.
enum Curl {
    /// Seconds a request may take: generous, since a loaded CI machine runs many suites at once
    /// (the requests that are meant to fail are refused at once, so it costs nothing).
    static let maxTime = 30

    static func run(_ arguments: [String]) async throws -> CommandRun {
        try await runCommand("/usr/bin/curl", ["-sS", "-o", "/dev/null", "--max-time", "\(Curl.maxTime)"] + arguments)
    }

    /// Tries until curl succeeds.
    static func waitFor(_ arguments: [String], within timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let run = try await run(arguments)
            if run.status == 0 { return }
            guard ContinuousClock.now < deadline else { throw CommandFailure(command: "curl \(arguments.joined(separator: " "))", output: run.output) }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// A command that failed, with what it said.
struct CommandFailure: Error, CustomStringConvertible {
    var command: String
    var output: String
    var description: String { "\(command) failed: \(output)" }
}

/// The real `qualia-webhook serve`, on loopback with the test credentials.
enum Binary {
    /// A started server and where its output goes.
    struct Started {
        let process: Process
        let logFile: String
        var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }
    }

    static func start(_ environment: [String: String], in folder: TemporaryDirectory) throws -> Started {
        let process = Process()
        process.executableURL = ServerProcess.executable
        process.arguments = ["serve"]
        process.currentDirectoryURL = folder.url
        process.environment = [
            "PATH": "/usr/bin:/bin", "HOST": "127.0.0.1", "PORT": "0", "WEBHOOK_USERNAME": testCredentials.username,
            "WEBHOOK_PASSWORD": testCredentials.password, "SQLITE_PATH": folder.path("messages.sqlite"),
        ].merging(environment) { $1 }
        let logFile = folder.path("server-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return Started(process: process, logFile: logFile)
    }

    /// Runs the server expecting it to stop by itself within 20 s (it is killed otherwise).
    static func run(_ environment: [String: String], in folder: TemporaryDirectory) async throws -> CommandRun {
        let started = try start(environment, in: folder)
        let deadline = ContinuousClock.now + .seconds(20)
        while started.process.isRunning {
            if ContinuousClock.now > deadline {
                kill(started.process.processIdentifier, SIGKILL)
                started.process.waitUntilExit()
                return CommandRun(status: -1, output: "still running after 20 s:\n" + started.log)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return CommandRun(status: started.process.terminationStatus, output: started.log)
    }
}
