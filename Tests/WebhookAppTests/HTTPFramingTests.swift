import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import StoreTestSupport
import Testing

@testable import WebhookApp

#if canImport(Glibc)
import Glibc
#endif

/// Malformed HTTP, idle connections and `Expect: 100-continue`, on the real binary over
/// real sockets: a client's mistake is a 4xx with a JSON body and an `X-Request-ID`, never
/// a 500 or an ERROR line; a silent connection is closed and what it half-sent is never
/// stored; a client that asks before sending its body is answered at once.
@Suite struct HTTPFramingTests {
    static let credentials = "Authorization: Basic " + Data("\(testCredentials.username):\(testCredentials.password)".utf8).base64EncodedString()

    /// Each request is malformed in a way the HTTP decoder or the body reader catches.
    static let malformed: [(name: String, request: String, status: Int)] = [
        ("Content-Length with Transfer-Encoding",
         "POST /webhook/messages HTTP/1.1\r\nHost: x\r\n\(credentials)\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
        ("two Content-Lengths", "POST /webhook/messages HTTP/1.1\r\nHost: x\r\n\(credentials)\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400),
        ("an unknown Transfer-Encoding with valid credentials",
         "POST /webhook/messages HTTP/1.1\r\nHost: x\r\n\(credentials)\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
        ("a malformed chunk", "POST /webhook/messages HTTP/1.1\r\nHost: x\r\n\(credentials)\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
        ("a 90 KB header", "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 90_000))\r\n\r\n", 431),
        ("a 70 KB path", "GET /\(String(repeating: "a", count: 70_000))?\(String(repeating: "b", count: 20_000)) HTTP/1.1\r\nHost: x\r\n\r\n", 431),
        ("a request line that is not HTTP", "GARBAGE\r\n\r\n", 400),
        ("an unknown HTTP version", "GET /health HTTP/9.9\r\nHost: x\r\n\r\n", 400),
        ("a header name with a space", "GET /health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", 400),
        ("a negative Content-Length", "POST /webhook/messages HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    ]

    @Test(arguments: malformed.indices)
    func malformedHTTPIsA4xxWithAJSONBodyAndARequestID(_ index: Int) async throws {
        let (name, request, status) = Self.malformed[index]
        try await withServer { server in
            let socket = try RawSocket(port: server.port)
            defer { socket.close() }
            try socket.send(request)
            let (response, _) = await socket.receive(for: .seconds(5))
            let head = response.components(separatedBy: "\r\n\r\n").first ?? ""
            #expect(head.hasPrefix("HTTP/1.1 \(status) "), "\(name): \(response.prefix(200))")
            #expect(head.lowercased().contains("content-type: application/json"), "\(name)")
            #expect(head.lowercased().contains("x-request-id: "), "\(name)")
            let body = try #require(response.components(separatedBy: "\r\n\r\n").dropFirst().first, "\(name)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], "\(name): \(body)")
            #expect(object["error"] as? String == (status == 431 ? "headers_too_large" : "bad_request"), "\(name)")
            #expect((object["request_id"] as? String)?.isEmpty == false, "\(name)")
            try await Task.sleep(for: .milliseconds(100))
            #expect(!server.log.contains(#""level":"ERROR""#), "\(name): \(server.log.suffix(500))")
        }
    }

    /// A client that goes away mid-body is not our fault, and its half message is not stored
    /// even when the part it sent is valid JSON.
    @Test func aClientThatClosesMidBodyGetsNothingStoredAndNoErrorLogged() async throws {
        try await withServer { server in
            let body = try message(order: "QO-HALF")
            let socket = try RawSocket(port: server.port)
            try socket.send("POST /webhook/messages HTTP/1.1\r\nHost: x\r\n\(Self.credentials)\r\nContent-Length: \(body.count + 50)\r\n\r\n")
            try socket.send(Array(body.utf8))
            socket.shutdownWrite()
            let (response, _) = await socket.receive(for: .seconds(5))
            socket.close()
            #expect(response.isEmpty || response.hasPrefix("HTTP/1.1 400 "), "\(response.prefix(200))")
            #expect(try await storedCount(server, order: "QO-HALF") == 0)
            #expect(!server.log.contains(#""level":"ERROR""#), "\(server.log.suffix(500))")
            #expect(!server.log.contains(#""status":500"#))
        }
    }

    /// After a request that says `Connection: close` nothing more on the connection is
    /// processed (RFC 9112, section 9.6): a second request sent behind it gets no answer, not
    /// even a 400, and is not logged as malformed.
    @Test func nothingAfterAConnectionCloseRequestIsAnswered() async throws {
        try await withServer { server in
            let socket = try RawSocket(port: server.port)
            defer { socket.close() }
            try socket.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            let (response, closed) = await socket.receive(for: .seconds(5))
            #expect(closed)
            #expect(response.hasPrefix("HTTP/1.1 200 "), "\(response.prefix(200))")
            #expect(response.components(separatedBy: "HTTP/1.1 ").count == 2, "one answer only: \(response)")
            #expect(!server.log.contains("Malformed HTTP"), "\(server.log.suffix(500))")
        }
    }

    @Test func aKnownPathWithAnotherMethodIs405WithAllow() async throws {
        try await withService(.sqlite) { client, _, _ in
            let cases: [(String, HTTPRequest.Method, String)] = [
                ("/webhook/messages", .put, "POST"), ("/webhook/messages", .get, "POST"), ("/webhook/messages", .delete, "POST"),
                ("/webhook/messages", .patch, "POST"), ("/webhook/messages/QO-1", .post, "GET, HEAD"),
                ("/webhook/messages/QO-1", .delete, "GET, HEAD"), ("/health", .post, "GET, HEAD"), ("/ready", .put, "GET, HEAD"),
                ("/openapi.yaml", .options, "GET, HEAD"),
            ]
            for (path, method, allowed) in cases {
                let response = try await client.execute(uri: path, method: method, headers: validAuthorization)
                #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                #expect(response.headers[.allow] == allowed, "\(method) \(path)")
                #expect(try response.json()["error"] as? String == "method_not_allowed")
                #expect(response.headers[.requestID] != nil)
            }
            #expect(try await client.execute(uri: "/health", method: .head).status == .ok)
            #expect(try await client.execute(uri: "/nothing-here", method: .put).status == .notFound)
        }
    }

    // MARK: Idle connections

    @Test func aConnectionThatSendsNothingIsClosedWhereverItStops() async throws {
        try await withServer(idleSeconds: 1) { server in
            let body = try message(order: "QO-IDLE")
            let stops: [(String, String)] = [
                ("nothing", ""),
                ("half a head", "POST /webhook/messages HTTP/1.1\r\nHost: x\r\n"),
                ("a whole head and no body", "POST /webhook/messages HTTP/1.1\r\nHost: x\r\n\(Self.credentials)\r\nContent-Length: 10\r\n\r\n"),
                ("a valid JSON body short of its length",
                 "POST /webhook/messages HTTP/1.1\r\nHost: x\r\n\(Self.credentials)\r\nContent-Length: \(body.utf8.count + 20)\r\n\r\n\(body)"),
                ("a request answered, then silence", "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"),
            ]
            for (name, bytes) in stops {
                let socket = try RawSocket(port: server.port)
                defer { socket.close() }
                if !bytes.isEmpty { try socket.send(bytes) }
                let start = ContinuousClock.now
                let (response, closed) = await socket.receive(for: .seconds(6))
                #expect(closed, "\(name): still open after 6 s")
                #expect(ContinuousClock.now - start < .seconds(4), "\(name)")
                #expect(!response.contains("HTTP/1.1 200") || name.hasPrefix("a request answered"), "\(name): \(response.prefix(100))")
            }
            #expect(try await storedCount(server, order: "QO-IDLE") == 0, "a request cut by the idle timeout is never stored")
        }
    }

    @Test func aSlowButSteadyUploadIsNotCut() async throws {
        try await withServer(idleSeconds: 2) { server in
            let body = Array(try message(order: "QO-SLOW").utf8)
            let socket = try RawSocket(port: server.port)
            defer { socket.close() }
            try socket.send("POST /webhook/messages HTTP/1.1\r\nHost: x\r\n\(Self.credentials)\r\nContent-Length: \(body.count)\r\n\r\n")
            // About 5 s in all, over twice the idle timeout, never silent for a sixth of it
            // (room for a loaded machine's late wake-ups).
            let size = max(1, body.count / 16)
            let pieces = stride(from: 0, to: body.count, by: size).map { Array(body[$0..<min(body.count, $0 + size)]) }
            // On a thread of its own: the test pool's two threads may be busy with other
            // suites for longer than the gaps.
            let sent: Bool = await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    for piece in pieces {
                        usleep(300_000)
                        guard (try? socket.send(piece)) != nil else { return continuation.resume(returning: false) }
                    }
                    continuation.resume(returning: true)
                }
            }
            #expect(sent, "the server closed the connection during a steady upload")
            let (response, _) = await socket.receive(for: .seconds(5))
            #expect(response.hasPrefix("HTTP/1.1 200 "), "\(response.prefix(200))")
            #expect(try await storedCount(server, order: "QO-SLOW") == 1)
        }
    }

    /// With few file descriptors, idle sockets used to starve every legitimate request.
    @Test func idleSocketsCannotStarveADelivery() async throws {
        try await withServer(idleSeconds: 1, launcher: ["/bin/bash", "-c", #"ulimit -n 64; exec "$0" "$@""#]) { server in
            let idle = (0..<80).compactMap { _ in try? RawSocket(port: server.port) }
            defer { idle.forEach { $0.close() } }
            #expect(idle.count > 64)
            var request = HTTPClientRequest(url: server.baseURL + "/webhook/messages")
            request.method = .POST
            request.headers.add(name: "Authorization", value: String(Self.credentials.dropFirst("Authorization: ".count)))
            request.body = .bytes(ByteBuffer(string: try message(order: "QO-FD")))
            // As a sender would: a connection refused or reset while the server is out of
            // descriptors is tried again. Without the idle timeout no try ever succeeds.
            let deadline = ContinuousClock.now + .seconds(15)
            var status: HTTPResponseStatus?
            while status != .ok, ContinuousClock.now < deadline {
                status = try? await HTTPClient.shared.execute(request, deadline: .now() + .seconds(5)).status
                if status != .ok { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(status == .ok)
        }
    }

    // MARK: Expect: 100-continue

    @Test func expectContinueIsAnsweredBeforeTheBody() async throws {
        try await withServer { server in
            let body = try message(order: "QO-EXPECT")
            let socket = try RawSocket(port: server.port)
            defer { socket.close() }
            try socket.send(
                "POST /webhook/messages HTTP/1.1\r\nHost: x\r\n\(Self.credentials)\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
            )
            let (interim, _) = await socket.receive(for: .seconds(3))
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue\r\n"), "no 100 Continue before the body: \(interim.prefix(100))")
            try socket.send(body)
            let (final, _) = await socket.receive(for: .seconds(5))
            #expect(final.hasPrefix("HTTP/1.1 200 "), "\(final.prefix(200))")
            #expect(try await storedCount(server, order: "QO-EXPECT") == 1)
        }
    }

    /// A request refused before its body gets its final answer at once, and no 100.
    @Test(arguments: [
        ("wrong credentials", "Authorization: Basic " + Data("webhook_user:wrong".utf8).base64EncodedString(), 1000, 401),
        ("no credentials", "X-Nothing: 1", 1000, 401),
        ("a body over the limit", credentials, 10_000_000, 413),
    ])
    func aRequestRefusedBeforeItsBodyIsAnsweredAtOnce(_ name: String, _ header: String, _ length: Int, _ status: Int) async throws {
        try await withServer { server in
            let socket = try RawSocket(port: server.port)
            defer { socket.close() }
            try socket.send("POST /webhook/messages HTTP/1.1\r\nHost: x\r\n\(header)\r\nExpect: 100-continue\r\nContent-Length: \(length)\r\n\r\n")
            let (response, _) = await socket.receive(for: .seconds(3))
            #expect(response.hasPrefix("HTTP/1.1 \(status) "), "\(name): \(response.prefix(200))")
            #expect(!response.contains("100 Continue"), "\(name)")
            #expect(response.lowercased().contains("connection: close"), "\(name)")
        }
    }

    @Test func anotherExpectationIs417() async throws {
        try await withService(.sqlite) { client, _, _ in
            let response = try await client.execute(uri: "/health", method: .get, headers: [.expect: "fly"])
            #expect(response.status == .expectationFailed)
            #expect(try response.json()["error"] as? String == "expectation_failed")
        }
    }

    // MARK: Helpers

    private func withServer(
        idleSeconds: Int = 60, launcher: [String] = [], _ body: (ServerProcess) async throws -> Void
    ) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let server = try await ServerProcess(
            environment: ["SQLITE_PATH": folder.path("messages.sqlite"), "IDLE_TIMEOUT_SECONDS": String(idleSeconds)], in: folder,
            launcher: launcher
        )
        try await body(server)
    }

    private func message(order: String) throws -> String {
        var payload = specExample()
        payload["order_id"] = order
        return String(decoding: try JSONSerialization.data(withJSONObject: payload), as: UTF8.self)
    }

    private func storedCount(_ server: ServerProcess, order: String) async throws -> Int {
        var request = HTTPClientRequest(url: server.baseURL + "/webhook/messages/" + order)
        request.headers.add(name: "Authorization", value: String(Self.credentials.dropFirst("Authorization: ".count)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
        return object["count"] as? Int ?? -1
    }
}
