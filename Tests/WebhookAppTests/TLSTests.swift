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
        let future = try Certificates.dated("future", from: "20400101000000Z", to: "20400102000000Z", in: folder)
        let notPEM = folder.path("not.pem")
        try "hello\n".write(toFile: notPEM, atomically: true, encoding: .utf8)
        let empty = folder.path("empty.pem")
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        let encrypted = folder.path("encrypted-key.pem")
        try OpenSSL.run(["pkey", "-in", good.keyPath, "-aes256", "-passout", "pass:secret", "-out", encrypted])
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
    func loadsEveryKeyForm() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let rsa = try Certificates.selfSigned("rsa", key: .rsa, in: folder)
        let ec = try Certificates.selfSigned("ec", in: folder)
        let pkcs1 = folder.path("rsa-pkcs1.pem"), sec1 = folder.path("ec-sec1.pem")
        try OpenSSL.run(["rsa", "-in", rsa.keyPath, "-traditional", "-out", pkcs1])
        try OpenSSL.run(["ec", "-in", ec.keyPath, "-out", sec1])
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
        let chain = try Certificates.chain(in: folder)
        try await withHTTPSServer(chain.served) { port, _, _ async throws in
            let url = "https://localhost:\(port)/health"
            #expect(try Curl.run(["--cacert", chain.root, "-w", "%{http_code}", url]).output == "200")
            #expect(try Curl.run(["--cacert", chain.root, "--http1.1", "-w", "%{http_code}", url]).output == "200")
        }
        // Served without its intermediate, the same client cannot verify it.
        let leafOnly = AppConfiguration.TLSFiles(certificatePath: chain.leaf, keyPath: chain.served.keyPath)
        try await withHTTPSServer(leafOnly) { port, _, _ async throws in
            #expect(try Curl.run(["--cacert", chain.root, "https://localhost:\(port)/health"]).status != 0)
        }
    }

    @Test("Only TLS 1.2 with forward-secret AEAD suites and TLS 1.3 are offered, for EC and RSA certificates", arguments: [
        Certificates.KeyType.ec, .rsa,
    ])
    func protocolsAndCiphers(key: Certificates.KeyType) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try Certificates.selfSigned("server", key: key, in: folder)
        let algorithm = key == .ec ? "ECDSA" : "RSA"
        try await withHTTPSServer(pair) { port, _, _ async throws in
            func handshake(_ options: [String]) throws -> Bool {
                let run = try runCommand("/usr/bin/openssl", ["s_client", "-brief", "-connect", "127.0.0.1:\(port)", "-servername", "localhost"] + options)
                return run.status == 0 && run.output.contains("CONNECTION ESTABLISHED")
            }
            #expect(try handshake(["-tls1_3"]))
            #expect(try handshake(["-tls1_2", "-cipher", "ECDHE-\(algorithm)-AES128-GCM-SHA256"]))
            #expect(try handshake(["-tls1_2", "-cipher", "ECDHE-\(algorithm)-CHACHA20-POLY1305"]))
            // CBC with SHA-1, and (for RSA) key exchange without forward secrecy: refused.
            #expect(try !handshake(["-tls1_2", "-cipher", "ECDHE-\(algorithm)-AES128-SHA"]))
            if key == .rsa { #expect(try !handshake(["-tls1_2", "-cipher", "AES128-GCM-SHA256"])) }
            #expect(try !handshake(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]))
            #expect(try !handshake(["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]))
        }
    }

    @Test("A connection that never finishes its handshake is closed at the idle timeout; failed handshakes are counted")
    func handshakeDeadline() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try Certificates.selfSigned("server", in: folder)
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
            #expect(try Curl.run(["https://localhost:\(port)/health"]).status != 0)

            let failures = "qualia_webhook_tls_handshake_failures_total"
            #expect(try metric("\(failures){reason=\"timeout\"}", port: port, trusting: pair) == 2)
            #expect(try metric("\(failures){reason=\"failed\"}", port: port, trusting: pair) == 2)
        }
    }

    @Test("After the handshake, an idle connection is closed at the idle timeout over HTTP/1.1 and HTTP/2 alike")
    func idleAfterHandshake() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try Certificates.selfSigned("server", in: folder)
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
                let run = try Python.run(["-c", script, pair.certificatePath, String(port), protocolName], input: Data())
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

    @Test("Answers that close an HTTP/1.1 connection reach an HTTP/2 client whole, without the fields HTTP/2 forbids")
    func connectionFieldsStayOffHTTP2() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try Certificates.selfSigned("server", in: folder)
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
                    let run = try runCommand("/usr/bin/curl", ["-sS", "-D", "-", "--max-time", "\(Curl.maxTime)", "--cacert", pair.certificatePath, version] + arguments)
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
                #expect(try metric("qualia_webhook_tls_reloads_total{outcome=\"loaded\"}", port: port, trusting: second) == 1)
                #expect(try metric("qualia_webhook_tls_reloads_total{outcome=\"refused\"}", port: port, trusting: second) == 1)
                let secondExpiry = try TLSCertificateLoader.load(second).notValidAfter.timeIntervalSince1970
                let served = try metric("qualia_webhook_tls_certificate_expiration_timestamp_seconds", port: port, trusting: second)
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

    /// Runs the real application over HTTPS on a free loopback port until `body` returns,
    /// with metrics on (readable at `/metrics` with the test credentials).
    private func withHTTPSServer(
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
    private func metric(_ series: String, port: Int, trusting pair: AppConfiguration.TLSFiles) throws -> Double {
        let run = try runCommand("/usr/bin/curl", [
            "-sS", "--max-time", "\(Curl.maxTime)", "--cacert", pair.certificatePath, "-u", "\(testCredentials.username):\(testCredentials.password)",
            "https://127.0.0.1:\(port)/metrics",
        ])
        guard run.status == 0 else { throw CommandFailure(command: "curl /metrics", output: run.output) }
        let line = run.output.split(separator: "\n").first { $0.hasPrefix(series + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }
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
    ) throws -> AppConfiguration.TLSFiles {
        let files = AppConfiguration.TLSFiles(certificatePath: folder.path("\(name)-cert.pem"), keyPath: folder.path("\(name)-key.pem"))
        try OpenSSL.run(
            ["req", "-x509"] + key.newKeyOptions + ["-nodes", "-keyout", files.keyPath, "-out",
            files.certificatePath, "-days", "2", "-subj", "/CN=\(commonName ?? name)", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ]
        )
        chmod(files.keyPath, 0o600)
        return files
    }

    /// A self-signed certificate that was valid on 1 January 2020 only.
    static func expired(_ name: String, in folder: TemporaryDirectory) throws -> AppConfiguration.TLSFiles {
        try dated(name, from: "20200101000000Z", to: "20200102000000Z", in: folder)
    }

    /// A self-signed certificate valid between two `openssl` times (`openssl ca` can date
    /// it; `req -x509` cannot on OpenSSL 3.0).
    static func dated(_ name: String, from start: String, to end: String, in folder: TemporaryDirectory) throws -> AppConfiguration.TLSFiles {
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
    static func chain(in folder: TemporaryDirectory) throws -> Chain {
        let ec = KeyType.ec.newKeyOptions
        let caExtensions = folder.path("ca.ext"), leafExtensions = folder.path("leaf.ext")
        try "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n".write(toFile: caExtensions, atomically: true, encoding: .utf8)
        try "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
            .write(toFile: leafExtensions, atomically: true, encoding: .utf8)
        let root = folder.path("root-cert.pem"), rootKey = folder.path("root-key.pem")
        try OpenSSL.run(["req", "-x509"] + ec + ["-nodes", "-keyout", rootKey, "-out", root, "-days", "2", "-subj", "/CN=Test Root CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        func issue(_ name: String, subject: String, by issuer: String, issuerKey: String, extensions: String) throws -> (String, String) {
            let certificate = folder.path("\(name)-cert.pem"), key = folder.path("\(name)-key.pem"), request = folder.path("\(name).csr")
            try OpenSSL.run(["req", "-new"] + ec + ["-nodes", "-keyout", key, "-out", request, "-subj", subject])
            try OpenSSL.run([
                "x509", "-req", "-in", request, "-CA", issuer, "-CAkey", issuerKey, "-CAcreateserial", "-days", "2", "-extfile", extensions,
                "-out", certificate,
            ])
            chmod(key, 0o600)
            return (certificate, key)
        }
        let (intermediate, intermediateKey) = try issue(
            "intermediate", subject: "/CN=Test Intermediate CA", by: root, issuerKey: rootKey, extensions: caExtensions
        )
        let (leaf, leafKey) = try issue("leaf", subject: "/CN=localhost", by: intermediate, issuerKey: intermediateKey, extensions: leafExtensions)
        let fullChain = folder.path("fullchain.pem")
        try (String(contentsOfFile: leaf, encoding: .utf8) + String(contentsOfFile: intermediate, encoding: .utf8))
            .write(toFile: fullChain, atomically: true, encoding: .utf8)
        return Chain(root: root, leaf: leaf, served: .init(certificatePath: fullChain, keyPath: leafKey))
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
    static func run(_ arguments: [String]) throws {
        let run = try runCommand("/usr/bin/openssl", arguments)
        guard run.status == 0 else { throw CommandFailure(command: "openssl \(arguments.joined(separator: " "))", output: run.output) }
    }
}

/// `curl`, quiet but for errors, its body thrown away: `output` is what `-w` writes.
enum Curl {
    /// Seconds a request may take: generous, since a loaded CI machine runs many suites at once
    /// (the requests that are meant to fail are refused at once, so it costs nothing).
    static let maxTime = 30

    static func run(_ arguments: [String]) throws -> CommandRun {
        try runCommand("/usr/bin/curl", ["-sS", "-o", "/dev/null", "--max-time", "\(Curl.maxTime)"] + arguments)
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
