import Foundation
import StoreTestSupport
import Synchronization
import Testing

@testable import WebhookApp

/// HTTP/2's error scopes (RFC 9113, section 5.4): a client's protocol error on one stream
/// resets that stream only, and the other requests on the connection are answered; an error
/// of the connection itself still ends it. Driven by Python's `h2` package, which can send
/// what a conforming client never would.
@Suite(
    "HTTP/2 stream errors", .serialized,
    .enabled(if: Python.canImport("h2") || MotoServer.isCI, "skipped: python3 cannot import h2 (pip install h2)")
)
struct HTTP2StreamTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/h2_stream_errors.py")

    struct Outcome: Decodable, Equatable {
        var answered: [Int]
        var reset: [Int]
        var closed: Bool
    }

    @Test(
        "A stream error resets its stream and the connection's other requests are answered",
        arguments: ["bad-header", "data-after-end"]
    )
    func aStreamErrorStaysOnItsStream(mode: String) async throws {
        let outcome = try await run(mode)
        #expect(outcome.reset == [3], "\(outcome)")
        #expect(outcome.answered == [1, 5], "\(outcome)")
        #expect(!outcome.closed, "\(outcome)")
    }

    @Test("Good requests are all answered; a connection error still closes the connection")
    func controlAndConnectionError() async throws {
        #expect(try await run("none") == Outcome(answered: [1, 3, 5], reset: [], closed: false))
        let broken = try await run("connection-error")
        #expect(broken.closed, "\(broken)")
        #expect(!broken.answered.contains(5), "\(broken)")
    }

    private func run(_ mode: String) async throws -> Outcome {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pair = try await Certificates.selfSigned("server", in: folder)
        let result = Mutex<Outcome?>(nil)
        try await withHTTPSServer(pair) { port, _, _ async throws in
            let run = try await Python.run([Self.script.path, String(port), pair.certificatePath, mode], input: Data())
            guard run.status == 0 else { throw CommandFailure(command: "h2_stream_errors.py \(mode)", output: run.errors) }
            let outcome = try JSONDecoder().decode(Outcome.self, from: run.output)
            result.withLock { $0 = outcome }
        }
        return try #require(result.withLock { $0 })
    }
}
