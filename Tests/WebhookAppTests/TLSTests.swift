import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWSClient
import Logging
import NIOHTTP1
import NIOSSL
import StoreTestSupport
import Synchronization
import Testing

@testable import WebhookApp

#if canImport(Glibc)
import Glibc
#endif

/// HTTPS (issue 16): the pair's checks at start and on reload, HTTP/2 by ALPN, a renewal
/// while a connection is open, and the real binary's refusal of a bad pair. The certificates
/// are made here by Debian's `openssl`; clients are `curl` and AsyncHTTPClient.
@Suite("TLS", .serialized)
struct TLSTests {
    // MARK: Configuration

    @Test("TLS_CERT_PATH and TLS_KEY_PATH: both, neither, or a start-up problem")
    func configuration() throws {
        let base = ["WEBHOOK_USERNAME": "u", "WEBHOOK_PASSWORD": "p"]
        #expect(try AppConfiguration(environment: base).http.tls == nil)
        let both = try AppConfiguration(environment: base.merging(["TLS_CERT_PATH": "/c.pem", "TLS_KEY_PATH": "/k.pem"]) { $1 })
        #expect(both.http.tls == AppConfiguration.TLSFiles(certificatePath: "/c.pem", keyPath: "/k.pem"))
        for (name, other) in [("TLS_CERT_PATH", "TLS_KEY_PATH"), ("TLS_KEY_PATH", "TLS_CERT_PATH")] {
            let error = #expect(throws: ConfigurationError.self) {
                try AppConfiguration(environment: base.merging([name: "/x.pem"]) { $1 })
            }
            #expect(error?.problems == ["\(name) is set but \(other) is not; HTTPS needs both (or neither, for plain HTTP)"])
        }
    }

    @Test("Plain HTTP is worth a warning only on an address other hosts can reach")
    func clearTextWarning() {
        for host in ["127.0.0.1", "127.0.0.53", "localhost", "::1", "[::1]"] {
            #expect(!AppConfiguration.HTTP(host: host).exposesCredentialsInClearText, "\(host)")
        }
        for host in ["0.0.0.0", "::", "10.0.0.5", "webhook.example.com"] {
            #expect(AppConfiguration.HTTP(host: host).exposesCredentialsInClearText, "\(host)")
        }
        let files = AppConfiguration.TLSFiles(certificatePath: "/c", keyPath: "/k")
        #expect(!AppConfiguration.HTTP(host: "0.0.0.0", tls: files).exposesCredentialsInClearText)
    }

    // MARK: Loader

    @Test("A good pair loads, with its subject, expiry and the key's permissions")
    func loadsGoodPair() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try Certificates.selfSigned("good", commonName: "webhook.test", in: folder)
        let loaded = try TLSCertificateLoader.load(pair)
        #expect(loaded.subject == "webhook.test")
        #expect(loaded.notValidAfter > Date().addingTimeInterval(86_400))
        #expect(!loaded.keyIsShared)
        chmod(pair.keyPath, 0o644)
        #expect(try TLSCertificateLoader.load(pair).keyIsShared)
    }

    @Test("Each bad pair is refused with the file and the reason")
    func refusesBadPairs() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let good = try Certificates.selfSigned("good", in: folder)
        let other = try Certificates.selfSigned("other", in: folder)
        let expired = try Certificates.expired("expired", in: folder)
        let notPEM = folder.path("not.pem")
        try "hello\n".write(toFile: notPEM, atomically: true, encoding: .utf8)
        let missing = folder.path("missing.pem")
        let cases: [(AppConfiguration.TLSFiles, String, String, String)] = [
            (.init(certificatePath: missing, keyPath: good.keyPath), "TLS_CERT_PATH", missing, "no such file"),
            (.init(certificatePath: good.certificatePath, keyPath: missing), "TLS_KEY_PATH", missing, "no such file"),
            (.init(certificatePath: folder.url.path, keyPath: good.keyPath), "TLS_CERT_PATH", folder.url.path, "is a directory"),
            (.init(certificatePath: notPEM, keyPath: good.keyPath), "TLS_CERT_PATH", notPEM, "PEM certificate"),
            (.init(certificatePath: good.certificatePath, keyPath: notPEM), "TLS_KEY_PATH", notPEM, "PEM private key"),
            (.init(certificatePath: good.certificatePath, keyPath: other.keyPath), "TLS_KEY_PATH", other.keyPath, "does not match"),
            (expired, "TLS_CERT_PATH", expired.certificatePath, "expired at 2020-01-02T00:00:00Z"),
        ]
        for (files, variable, path, reason) in cases {
            let error = #expect(throws: TLSLoadError.self) { try TLSCertificateLoader.load(files) }
            #expect(error?.variable == variable)
            #expect(error?.path == path)
            #expect(error?.reason.contains(reason) == true, "\(String(describing: error)) should say \(reason)")
        }
    }

    // MARK: A live HTTPS server

    @Test("HTTPS offers HTTP/2 and HTTP/1.1 by ALPN, and a POST works over HTTP/2")
    func negotiatesHTTP2() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try Certificates.selfSigned("server", in: folder)
        try await withHTTPSServer(pair) { port, _, _ in
            let url = "https://127.0.0.1:\(port)/health"
            #expect(try Curl.run(["--cacert", pair.certificatePath, "--http2", "-w", "%{http_version}", url]).output == "2")
            #expect(try Curl.run(["--cacert", pair.certificatePath, "--http1.1", "-w", "%{http_version}", url]).output == "1.1")
            let body = String(data: try JSONSerialization.data(withJSONObject: specExample()), encoding: .utf8) ?? ""
            let post = try Curl.run([
                "--cacert", pair.certificatePath, "--http2", "-w", "%{http_version} %{http_code}", "-u",
                "\(testCredentials.username):\(testCredentials.password)", "-H", "Content-Type: application/json", "--data-binary", body,
                "https://127.0.0.1:\(port)/webhook/messages",
            ])
            #expect(post.output == "2 200")
        }
    }

    @Test("The live stream's WebSocket works over TLS (wss, HTTP/1.1 by ALPN's absence)")
    func streamOverWSS() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try Certificates.selfSigned("server", in: folder)
        try await withHTTPSServer(pair) { port, _, _ in
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pair.certificatePath))
            let trust = tls
            let headers: HTTPFields = [.authorization: validAuthorization[.authorization] ?? ""]
            let body = String(decoding: try JSONSerialization.data(withJSONObject: specExample()), as: UTF8.self)
            let received = ReceivedText()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    _ = try await WebSocketClient.connect(
                        url: "wss://localhost:\(port)/webhook/stream", configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers),
                        tlsConfiguration: trust, logger: Logger(label: "wss-test")
                    ) { inbound, _, _ in
                        let post = try Curl.run([
                            "--cacert", pair.certificatePath, "-w", "%{http_code}", "-u", "\(testCredentials.username):\(testCredentials.password)",
                            "-H", "Content-Type: application/json", "--data-binary", body, "https://127.0.0.1:\(port)/webhook/messages",
                        ])
                        #expect(post.output == "200")
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            guard case .text(let text) = message else { continue }
                            received.text.withLock { $0 = text }
                            return
                        }
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(15))
                    throw CommandFailure(command: "wss stream", output: "no event within 15 s")
                }
                try await group.next()
                group.cancelAll()
            }
            #expect(received.text.withLock { $0 }?.contains("\"message.created\"") == true)
        }
    }

    @Test("A renewed pair serves new connections while an open one keeps working; a bad one is refused")
    func reloadsWithoutDroppingConnections() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let first = try Certificates.selfSigned("first", commonName: "first", in: folder)
        let second = try Certificates.selfSigned("second", commonName: "second", in: folder)
        let stranger = try Certificates.selfSigned("stranger", in: folder)
        let served = AppConfiguration.TLSFiles(certificatePath: folder.path("served-cert.pem"), keyPath: folder.path("served-key.pem"))
        try Certificates.install(first, as: served)
        try await withHTTPSServer(served) { port, reloader, logs in
            let url = "https://127.0.0.1:\(port)/health"
            // A client that trusts only the first certificate, so it cannot open a connection
            // after the swap: its later success proves that it used the connection it had.
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(first.certificatePath))
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(tlsConfiguration: tls))
            do {
                #expect(try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5)).status == .ok)

                try Certificates.install(second, as: served)
                #expect(await reloader.reload(.request))
                #expect(try Curl.run(["--cacert", second.certificatePath, url]).status == 0)
                #expect(try Curl.run(["--cacert", first.certificatePath, url]).status != 0)
                #expect(try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5)).status == .ok)
                // The same trust in a fresh client (so a new connection) fails now.
                let fresh = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(tlsConfiguration: tls))
                await #expect(throws: (any Error).self) { try await fresh.execute(HTTPClientRequest(url: url), timeout: .seconds(2)) }
                try await fresh.shutdown()
                #expect(logs.lines.contains { $0.contains("TLS certificate loaded") && $0.contains("second") })

                // A certificate with another's key: refused, and the second pair stays.
                try FileManager.default.removeItem(atPath: served.keyPath)
                try FileManager.default.copyItem(atPath: stranger.keyPath, toPath: served.keyPath)
                #expect(await !reloader.reload(.request))
                #expect(try Curl.run(["--cacert", second.certificatePath, url]).status == 0)
                #expect(logs.lines.contains { $0.contains("TLS certificate refused") && $0.contains("does not match") })
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }

    @Test("A change to the files is noticed by polling and loaded once it has settled")
    func reloadsOnFileChange() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let first = try Certificates.selfSigned("first", in: folder)
        let second = try Certificates.selfSigned("second", in: folder)
        let served = AppConfiguration.TLSFiles(certificatePath: folder.path("served-cert.pem"), keyPath: folder.path("served-key.pem"))
        try Certificates.install(first, as: served)
        try await withHTTPSServer(served, pollInterval: .milliseconds(100)) { port, _, logs in
            try Certificates.install(second, as: served)
            let deadline = ContinuousClock.now + .seconds(10)
            while try Curl.run(["--cacert", second.certificatePath, "https://127.0.0.1:\(port)/health"]).status != 0 {
                try #require(ContinuousClock.now < deadline, "the new certificate was not served within 10 s")
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(logs.lines.contains { $0.contains("TLS certificate loaded") && $0.contains("file change") })
        }
    }

    // MARK: The real binary

    @Test("The binary exits 78 with the path and the reason for a bad pair, before listening")
    func binaryRefusesBadPair() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let good = try Certificates.selfSigned("good", in: folder)
        let other = try Certificates.selfSigned("other", in: folder)
        let expired = try Certificates.expired("expired", in: folder)
        let missing = folder.path("missing.pem")
        let cases: [(AppConfiguration.TLSFiles, String)] = [
            (.init(certificatePath: missing, keyPath: good.keyPath), "TLS_CERT_PATH \(missing): no such file"),
            (.init(certificatePath: good.certificatePath, keyPath: other.keyPath), "TLS_KEY_PATH \(other.keyPath): the key does not match"),
            (expired, "TLS_CERT_PATH \(expired.certificatePath): the certificate expired"),
        ]
        for (files, message) in cases {
            let run = try await Binary.run(["TLS_CERT_PATH": files.certificatePath, "TLS_KEY_PATH": files.keyPath], in: folder)
            #expect(run.status == 78, "\(run.output)")
            #expect(run.output.contains(message), "\(run.output)")
            #expect(!run.output.contains("Starting qualia-webhook"))
        }
        let half = try await Binary.run(["TLS_CERT_PATH": good.certificatePath], in: folder)
        #expect(half.status == 78)
        #expect(half.output.contains("TLS_CERT_PATH is set but TLS_KEY_PATH is not"))
    }

    @Test("The binary reloads on SIGHUP instead of ending, and warns about a shared key")
    func binaryReloadsOnHangup() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let first = try Certificates.selfSigned("first", in: folder)
        let second = try Certificates.selfSigned("second", in: folder)
        let served = AppConfiguration.TLSFiles(certificatePath: folder.path("served-cert.pem"), keyPath: folder.path("served-key.pem"))
        try Certificates.install(first, as: served)
        chmod(served.keyPath, 0o640)
        let port = try freeLoopbackPort()
        let server = try Binary.start(
            ["TLS_CERT_PATH": served.certificatePath, "TLS_KEY_PATH": served.keyPath, "PORT": String(port)], in: folder
        )
        defer { if server.process.isRunning { kill(server.process.processIdentifier, SIGKILL) } }
        let url = "https://127.0.0.1:\(port)/health"
        try await Curl.waitFor(["--cacert", first.certificatePath, url])
        try Certificates.install(second, as: served)
        kill(server.process.processIdentifier, SIGHUP)
        try await Curl.waitFor(["--cacert", second.certificatePath, url], within: .seconds(1.5))
        #expect(server.process.isRunning)
        kill(server.process.processIdentifier, SIGTERM)
        server.process.waitUntilExit()
        let log = server.log
        #expect(server.process.terminationStatus == 0, "\(log)")
        #expect(log.contains("SIGHUP"), "\(log)")
        #expect(log.contains("TLS key file is readable by other users"), "\(log)")
    }

    @Test("Plain HTTP on a non-loopback address logs one warning at start; HTTPS there logs none")
    func binaryWarnsAboutClearText() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try Certificates.selfSigned("server", in: folder)
        for tls in [false, true] {
            let port = try freeLoopbackPort()
            var environment = ["HOST": "0.0.0.0", "PORT": String(port)]
            if tls { environment.merge(["TLS_CERT_PATH": pair.certificatePath, "TLS_KEY_PATH": pair.keyPath]) { $1 } }
            let server = try Binary.start(environment, in: folder)
            defer { if server.process.isRunning { kill(server.process.processIdentifier, SIGKILL) } }
            try await Curl.waitFor(tls ? ["--cacert", pair.certificatePath, "https://127.0.0.1:\(port)/health"] : ["http://127.0.0.1:\(port)/health"])
            kill(server.process.processIdentifier, SIGTERM)
            server.process.waitUntilExit()
            let warnings = server.log.components(separatedBy: "Basic credentials and messages cross the network in clear text").count - 1
            #expect(warnings == (tls ? 0 : 1), "\(server.log)")
        }
    }

    /// Runs the real application over HTTPS on a free loopback port until `body` returns.
    private func withHTTPSServer(
        _ files: AppConfiguration.TLSFiles, pollInterval: Duration? = nil,
        _ body: @Sendable (Int, TLSReloader, LogCapture) async throws -> Void
    ) async throws {
        let port = try freeLoopbackPort()
        let logs = LogCapture()
        let reloader = TLSReloader(files: files, initial: try TLSCertificateLoader.load(files), pollInterval: pollInterval, logger: logs.logger())
        let configuration = AppConfiguration(auth: .init(credentials: testCredentials), http: .init(port: port, tls: files))
        try await withStore(.sqlite) { store in
            let app = buildApplication(configuration, store: store, tls: reloader, logger: logs.logger())
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
}

/// The text a WebSocket handler received, for the test to read afterwards.
final class ReceivedText: Sendable {
    let text = Mutex<String?>(nil)
}

/// Certificates made by `openssl` for the tests, each valid for 127.0.0.1 and localhost.
enum Certificates {
    /// A self-signed P-256 certificate and its key (mode 600), valid for two days.
    static func selfSigned(_ name: String, commonName: String? = nil, in folder: TemporaryDirectory) throws -> AppConfiguration.TLSFiles {
        let files = AppConfiguration.TLSFiles(certificatePath: folder.path("\(name)-cert.pem"), keyPath: folder.path("\(name)-key.pem"))
        try OpenSSL.run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", files.keyPath, "-out",
            files.certificatePath, "-days", "2", "-subj", "/CN=\(commonName ?? name)", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        chmod(files.keyPath, 0o600)
        return files
    }

    /// A self-signed certificate that was valid on 1 January 2020 only (`openssl ca` can
    /// date it; `req -x509` cannot on OpenSSL 3.0).
    static func expired(_ name: String, in folder: TemporaryDirectory) throws -> AppConfiguration.TLSFiles {
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
        try OpenSSL.run([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", files.keyPath, "-out",
            "\(ca)/request.csr", "-subj", "/CN=\(name)",
        ])
        try OpenSSL.run([
            "ca", "-batch", "-config", "\(ca)/ca.cnf", "-selfsign", "-keyfile", files.keyPath, "-in", "\(ca)/request.csr",
            "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-out", files.certificatePath,
        ])
        chmod(files.keyPath, 0o600)
        return files
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

/// Runs a command to its end.
func runCommand(_ path: String, _ arguments: [String]) throws -> CommandRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
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
    static func run(_ arguments: [String]) throws {
        let run = try runCommand("/usr/bin/openssl", arguments)
        guard run.status == 0 else { throw CommandFailure(command: "openssl \(arguments.joined(separator: " "))", output: run.output) }
    }
}

/// `curl`, quiet but for errors, its body thrown away: `output` is what `-w` writes.
enum Curl {
    static func run(_ arguments: [String]) throws -> CommandRun {
        try runCommand("/usr/bin/curl", ["-sS", "-o", "/dev/null", "--max-time", "5"] + arguments)
    }

    /// Tries until curl succeeds.
    static func waitFor(_ arguments: [String], within timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let run = try run(arguments)
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
        FileManager.default.createFile(atPath: logFile, contents: nil)
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
