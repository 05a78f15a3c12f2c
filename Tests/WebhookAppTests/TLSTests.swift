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
    func loadsGoodPair() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try await Certificates.selfSigned("good", commonName: "webhook.test", in: folder)
        let loaded = try TLSCertificateLoader.load(pair)
        #expect(loaded.subject == "webhook.test")
        #expect(loaded.notValidAfter > Date().addingTimeInterval(86_400))
        #expect(!loaded.keyIsShared)
        chmod(pair.keyPath, 0o644)
        #expect(try TLSCertificateLoader.load(pair).keyIsShared)
    }

    @Test("Each bad pair is refused with the file and the reason")
    func refusesBadPairs() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let good = try await Certificates.selfSigned("good", in: folder)
        let other = try await Certificates.selfSigned("other", in: folder)
        let expired = try await Certificates.expired("expired", in: folder)
        let future = try await Certificates.dated("future", from: "20400101000000Z", to: "20400102000000Z", in: folder)
        let notPEM = folder.path("not.pem")
        try "hello\n".write(toFile: notPEM, atomically: true, encoding: .utf8)
        let empty = folder.path("empty.pem")
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        let encrypted = folder.path("encrypted-key.pem")
        try await OpenSSL.run(["pkey", "-in", good.keyPath, "-aes256", "-passout", "pass:secret", "-out", encrypted])
        let missing = folder.path("missing.pem")
        let cases: [(AppConfiguration.TLSFiles, String, String, String)] = [
            (.init(certificatePath: missing, keyPath: good.keyPath), "TLS_CERT_PATH", missing, "no such file"),
            (.init(certificatePath: good.certificatePath, keyPath: missing), "TLS_KEY_PATH", missing, "no such file"),
            (.init(certificatePath: folder.url.path, keyPath: good.keyPath), "TLS_CERT_PATH", folder.url.path, "is a directory"),
            (.init(certificatePath: notPEM, keyPath: good.keyPath), "TLS_CERT_PATH", notPEM, "PEM certificate"),
            (.init(certificatePath: good.certificatePath, keyPath: notPEM), "TLS_KEY_PATH", notPEM, "PEM private key"),
            (.init(certificatePath: good.certificatePath, keyPath: other.keyPath), "TLS_KEY_PATH", other.keyPath, "does not match"),
            (.init(certificatePath: empty, keyPath: good.keyPath), "TLS_CERT_PATH", empty, "is empty"),
            (.init(certificatePath: good.certificatePath, keyPath: empty), "TLS_KEY_PATH", empty, "is empty"),
            (.init(certificatePath: good.certificatePath, keyPath: encrypted), "TLS_KEY_PATH", encrypted, "unencrypted PEM private key"),
            (expired, "TLS_CERT_PATH", expired.certificatePath, "expired at 2020-01-02T00:00:00Z"),
            (future, "TLS_CERT_PATH", future.certificatePath, "not valid before 2040-01-01T00:00:00Z"),
        ]
        for (files, variable, path, reason) in cases {
            let error = #expect(throws: TLSLoadError.self) { try TLSCertificateLoader.load(files) }
            #expect(error?.variable == variable)
            #expect(error?.path == path)
            #expect(error?.reason.contains(reason) == true, "\(String(describing: error)) should say \(reason)")
        }
    }

    // MARK: A live HTTPS server

    @Test("RSA and EC keys load in each PEM form: PKCS#8, PKCS#1 and SEC1")
    func loadsEveryKeyForm() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let rsa = try await Certificates.selfSigned("rsa", key: .rsa, in: folder)
        let ec = try await Certificates.selfSigned("ec", in: folder)
        let pkcs1 = folder.path("rsa-pkcs1.pem"), sec1 = folder.path("ec-sec1.pem")
        try await OpenSSL.run(["rsa", "-in", rsa.keyPath, "-traditional", "-out", pkcs1])
        try await OpenSSL.run(["ec", "-in", ec.keyPath, "-out", sec1])
        #expect(try String(contentsOfFile: pkcs1, encoding: .utf8).hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
        #expect(try String(contentsOfFile: sec1, encoding: .utf8).hasPrefix("-----BEGIN EC PRIVATE KEY-----"))
        for files in [
            rsa, ec, AppConfiguration.TLSFiles(certificatePath: rsa.certificatePath, keyPath: pkcs1),
            AppConfiguration.TLSFiles(certificatePath: ec.certificatePath, keyPath: sec1),
        ] {
            #expect(throws: Never.self, "\(files.keyPath)") { try TLSCertificateLoader.load(files) }
        }
    }

    @Test("The certificate file's chain is served: a client that trusts only the root connects through the intermediate")
    func servesTheChain() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let chain = try await Certificates.chain(in: folder)
        try await withHTTPSServer(chain.served) { port, _, _ async throws in
            let url = "https://localhost:\(port)/health"
            #expect(try await Curl.run(["--cacert", chain.root, "-w", "%{http_code}", url]).output == "200")
            #expect(try await Curl.run(["--cacert", chain.root, "--http1.1", "-w", "%{http_code}", url]).output == "200")
        }
        // Served without its intermediate, the same client cannot verify it.
        let leafOnly = AppConfiguration.TLSFiles(certificatePath: chain.leaf, keyPath: chain.served.keyPath)
        try await withHTTPSServer(leafOnly) { port, _, _ async throws in
            #expect(try await Curl.run(["--cacert", chain.root, "https://localhost:\(port)/health"]).status != 0)
        }
    }

    @Test("Only TLS 1.2 with forward-secret AEAD suites and TLS 1.3 are offered, for EC and RSA certificates", arguments: [
        Certificates.KeyType.ec, .rsa,
    ])
    func protocolsAndCiphers(key: Certificates.KeyType) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try await Certificates.selfSigned("server", key: key, in: folder)
        let algorithm = key == .ec ? "ECDSA" : "RSA"
        try await withHTTPSServer(pair) { port, _, _ async throws in
            func handshake(_ options: [String]) async throws -> Bool {
                let run = try await runCommand("/usr/bin/openssl", ["s_client", "-brief", "-connect", "127.0.0.1:\(port)", "-servername", "localhost"] + options)
                return run.status == 0 && run.output.contains("CONNECTION ESTABLISHED")
            }
            #expect(try await handshake(["-tls1_3"]))
            #expect(try await handshake(["-tls1_2", "-cipher", "ECDHE-\(algorithm)-AES128-GCM-SHA256"]))
            #expect(try await handshake(["-tls1_2", "-cipher", "ECDHE-\(algorithm)-CHACHA20-POLY1305"]))
            // CBC with SHA-1, and (for RSA) key exchange without forward secrecy: refused.
            #expect(try await !handshake(["-tls1_2", "-cipher", "ECDHE-\(algorithm)-AES128-SHA"]))
            if key == .rsa { #expect(try await !handshake(["-tls1_2", "-cipher", "AES128-GCM-SHA256"])) }
            #expect(try await !handshake(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]))
            #expect(try await !handshake(["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]))
        }
    }

    @Test("A connection that never finishes its handshake is closed at the idle timeout; failed handshakes are counted")
    func handshakeDeadline() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try await Certificates.selfSigned("server", in: folder)
        try await withHTTPSServer(pair, idleTimeout: .seconds(1)) { port, _, _ in
            let silent = try RawSocket(port: port)
            defer { close(silent.descriptor) }
            let started = ContinuousClock.now
            #expect(await silent.receive(for: .seconds(8)).closed, "a connection that sent nothing stayed open")
            #expect(ContinuousClock.now - started < .seconds(5))
            // Half a ClientHello, then silence.
            let half = try RawSocket(port: port)
            defer { close(half.descriptor) }
            try half.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])
            #expect(await half.receive(for: .seconds(8)).closed, "a connection that sent half a hello stayed open")
            // Plain HTTP to the HTTPS port: not TLS, so it fails at once.
            let plain = try RawSocket(port: port)
            defer { close(plain.descriptor) }
            try plain.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let answer = await plain.receive(for: .seconds(5))
            #expect(answer.closed)
            #expect(!answer.text.contains("200"))
            // A client that does not trust the certificate.
            #expect(try await Curl.run(["https://localhost:\(port)/health"]).status != 0)

            let failures = "qualia_webhook_tls_handshake_failures_total"
            #expect(try await metric("\(failures){reason=\"timeout\"}", port: port, trusting: pair) == 2)
            #expect(try await metric("\(failures){reason=\"failed\"}", port: port, trusting: pair) == 2)
        }
    }

    @Test("After the handshake, an idle connection is closed at the idle timeout over HTTP/1.1 and HTTP/2 alike")
    func idleAfterHandshake() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try await Certificates.selfSigned("server", in: folder)
        try await withHTTPSServer(pair, idleTimeout: .seconds(1)) { port, _, _ in
            for protocolName in ["http/1.1", "h2"] {
                // Over h2 the client sends its preface and never answers the server's GOAWAY
                // and PING, as a stuck or hostile client might: the server must close anyway.
                let script = """
                    import socket, ssl, sys, time
                    context = ssl.create_default_context(cafile=sys.argv[1])
                    context.set_alpn_protocols([sys.argv[3]])
                    with socket.create_connection(("127.0.0.1", int(sys.argv[2]))) as raw:
                        with context.wrap_socket(raw, server_hostname="localhost") as tls:
                            assert tls.selected_alpn_protocol() == sys.argv[3], tls.selected_alpn_protocol()
                            if sys.argv[3] == "h2":
                                tls.sendall(b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
                            tls.settimeout(10)
                            started = time.monotonic()
                            while True:
                                try:
                                    if not tls.recv(65536):
                                        break
                                except (ConnectionResetError, ssl.SSLError):
                                    break
                            print(round(time.monotonic() - started, 2))
                    """
                let run = try await Python.run(["-c", script, pair.certificatePath, String(port), protocolName], input: Data())
                let output = String(decoding: run.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(run.status == 0, "\(protocolName): \(run.errors)")
                #expect((Double(output) ?? 99) < 6, "\(protocolName) stayed open \(output) s")
            }
        }
    }

    @Test("HTTPS offers HTTP/2 and HTTP/1.1 by ALPN, and a POST works over HTTP/2")
    func negotiatesHTTP2() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try await Certificates.selfSigned("server", in: folder)
        try await withHTTPSServer(pair) { port, _, _ in
            let url = "https://127.0.0.1:\(port)/health"
            #expect(try await Curl.run(["--cacert", pair.certificatePath, "--http2", "-w", "%{http_version}", url]).output == "2")
            #expect(try await Curl.run(["--cacert", pair.certificatePath, "--http1.1", "-w", "%{http_version}", url]).output == "1.1")
            let body = String(data: try JSONSerialization.data(withJSONObject: specExample()), encoding: .utf8) ?? ""
            let post = try await Curl.run([
                "--cacert", pair.certificatePath, "--http2", "-w", "%{http_version} %{http_code}", "-u",
                "\(testCredentials.username):\(testCredentials.password)", "-H", "Content-Type: application/json", "--data-binary", body,
                "https://127.0.0.1:\(port)/webhook/messages",
            ])
            #expect(post.output == "2 200")
        }
    }

    @Test("Answers that close an HTTP/1.1 connection reach an HTTP/2 client whole, without the fields HTTP/2 forbids")
    func connectionFieldsStayOffHTTP2() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try await Certificates.selfSigned("server", in: folder)
        try await withHTTPSServer(pair) { port, _, _ async throws in
            let body = String(data: try JSONSerialization.data(withJSONObject: specExample()), encoding: .utf8) ?? ""
            let cases: [(name: String, arguments: [String], status: String)] = [
                ("another expectation", ["-H", "Expect: fly", "https://localhost:\(port)/health"], "417"),
                (
                    "a refusal before the body of a 100-continue request",
                    ["-u", "webhook_user:wrong", "-H", "Expect: 100-continue", "-H", "Content-Type: application/json", "--data-binary", body,
                     "https://localhost:\(port)/webhook/messages"], "401"
                ),
            ]
            for (name, arguments, status) in cases {
                for version in ["--http2", "--http1.1"] {
                    let run = try await runCommand("/usr/bin/curl", ["-sS", "-D", "-", "--max-time", "\(Curl.maxTime)", "--cacert", pair.certificatePath, version] + arguments)
                    #expect(run.status == 0, "\(name) \(version): \(run.output)")
                    let head = run.output.lowercased()
                    #expect(head.contains(version == "--http2" ? "http/2 \(status)" : "http/1.1 \(status)"), "\(name) \(version): \(run.output)")
                    #expect(head.contains("\"error\""), "\(name) \(version): a JSON error body")
                    // HTTP/1.1 still closes the connection after such an answer; HTTP/2 has no such field.
                    #expect(head.contains("connection: close") == (version == "--http1.1"), "\(name) \(version): \(run.output)")
                }
            }
        }
    }

    @Test("The live stream's WebSocket works over TLS (wss, HTTP/1.1 by ALPN's absence)")
    func streamOverWSS() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try await Certificates.selfSigned("server", in: folder)
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
                        let post = try await Curl.run([
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
        let first = try await Certificates.selfSigned("first", commonName: "first", in: folder)
        let second = try await Certificates.selfSigned("second", commonName: "second", in: folder)
        let stranger = try await Certificates.selfSigned("stranger", in: folder)
        let served = try Certificates.served(first, in: folder)
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
                #expect(try await Curl.run(["--cacert", second.certificatePath, url]).status == 0)
                #expect(try await Curl.run(["--cacert", first.certificatePath, url]).status != 0)
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
                #expect(try await Curl.run(["--cacert", second.certificatePath, url]).status == 0)
                #expect(logs.lines.contains { $0.contains("TLS certificate refused") && $0.contains("does not match") })
                #expect(try await metric("qualia_webhook_tls_reloads_total{outcome=\"loaded\"}", port: port, trusting: second) == 1)
                #expect(try await metric("qualia_webhook_tls_reloads_total{outcome=\"refused\"}", port: port, trusting: second) == 1)
                let secondExpiry = try TLSCertificateLoader.load(second).notValidAfter.timeIntervalSince1970
                let served = try await metric("qualia_webhook_tls_certificate_expiration_timestamp_seconds", port: port, trusting: second)
                #expect(served == secondExpiry.rounded(.down))
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
        let first = try await Certificates.selfSigned("first", in: folder)
        let second = try await Certificates.selfSigned("second", in: folder)
        let served = try Certificates.served(first, in: folder)
        try await withHTTPSServer(served, pollInterval: .milliseconds(100)) { port, _, logs in
            try Certificates.install(second, as: served)
            let deadline = ContinuousClock.now + .seconds(10)
            while try await Curl.run(["--cacert", second.certificatePath, "https://127.0.0.1:\(port)/health"]).status != 0 {
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
        let good = try await Certificates.selfSigned("good", in: folder)
        let other = try await Certificates.selfSigned("other", in: folder)
        let expired = try await Certificates.expired("expired", in: folder)
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
        let first = try await Certificates.selfSigned("first", in: folder)
        let second = try await Certificates.selfSigned("second", in: folder)
        let served = try Certificates.served(first, in: folder)
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

    @Test("Without TLS there is nothing to reload: SIGHUP drains and stops the server like SIGTERM, exit 0")
    func binaryStopsOnHangupWithoutTLS() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let port = try freeLoopbackPort()
        let server = try Binary.start(["PORT": String(port)], in: folder)
        defer { if server.process.isRunning { kill(server.process.processIdentifier, SIGKILL) } }
        try await Curl.waitFor(["http://127.0.0.1:\(port)/health"])
        kill(server.process.processIdentifier, SIGHUP)
        server.process.waitUntilExit()
        // Killed by the signal's default action, it would end with reason `.uncaughtSignal`.
        #expect(server.process.terminationReason == .exit, "\(server.log)")
        #expect(server.process.terminationStatus == 0, "\(server.log)")
        #expect(server.log.contains("qualia-webhook stopped"), "\(server.log)")
    }

    @Test("Plain HTTP on a non-loopback address logs one warning at start; HTTPS there logs none")
    func binaryWarnsAboutClearText() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try await Certificates.selfSigned("server", in: folder)
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
}
