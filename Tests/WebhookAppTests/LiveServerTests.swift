import AsyncHTTPClient
import Foundation
import NIOHTTP1
import NIOCore
import HummingbirdTesting
import SendTest
import StoreTestSupport
import Synchronization
import Testing

@testable import WebhookApp

#if canImport(Glibc)
import Glibc
#endif

/// The service over a real socket, and the real executable.
@Suite struct LiveServerTests {
    @Test(arguments: StoreUnderTest.available)
    func sendTestPassesAgainstALiveServer(_ kind: StoreUnderTest) async throws {
        try await withService(kind, setup: .live) { client, _, _ in
            let port = try #require(client.port)
            let runner = SendTestRunner(baseURL: "http://127.0.0.1:\(port)", username: testCredentials.username, password: testCredentials.password)
            let steps = await runner.run()
            #expect(steps.count == 11)
            for step in steps { #expect(step.passed, "\(step.title): \(step.failure ?? "")") }
        }
    }

    /// `qualia-webhook migrate`, the real command, twice on a fresh store of each kind: both
    /// runs succeed, and the second finds nothing left to do.
    @Test(arguments: StoreUnderTest.available)
    func migrateRunsTwiceAndTheSecondRunChangesNothing(_ kind: StoreUnderTest) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        var environment = ["PATH": "/usr/bin:/bin", "SQLITE_PATH": folder.path("messages.sqlite")]
        if kind == .dynamodb {
            environment.merge([
                "STORE": "dynamodb", "DYNAMODB_TABLE": "migrate-\(UUID().uuidString.prefix(8).lowercased())",
                "AWS_ENDPOINT_URL_DYNAMODB": try #require(MotoServer.endpoint), "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
            ]) { $1 }
        }
        func migrate() throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = ServerProcess.executable
            process.arguments = ["migrate"]
            process.environment = environment
            process.currentDirectoryURL = folder.url
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let first = try migrate()
        #expect(first.status == 0, "\(first.output)")
        let second = try migrate()
        #expect(second.status == 0, "\(second.output)")
        if kind == .dynamodb {
            #expect(first.output.contains("Created table") && first.output.contains("Turned on the change feed's expiry"), "\(first.output)")
            #expect(second.output.contains("has its orders index") && second.output.contains("already on"), "\(second.output)")
        } else {
            #expect(FileManager.default.fileExists(atPath: folder.path("messages.sqlite")))
            #expect(second.output.contains("is migrated"))
        }
    }

    /// `send-test --watch`, the real command: after its steps it prints the run's events, then
    /// each new one as it is stored.
    @Test func sendTestWatchPrintsEventsLiveAsTheyArrive() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let server = try await ServerProcess(environment: ["SQLITE_PATH": folder.path("messages.sqlite")], in: folder)
        defer { server.send(SIGTERM) }
        let watcher = Process()
        watcher.executableURL = ServerProcess.executable
        watcher.arguments = [
            "send-test", "--watch", "--url", server.baseURL, "--user", testCredentials.username, "--password", testCredentials.password,
            "--order-id", "QO-WATCH",
        ]
        watcher.currentDirectoryURL = folder.url
        let output = Pipe()
        watcher.standardOutput = output
        watcher.standardError = FileHandle.nullDevice
        let printed = PrintedLines()
        output.fileHandleForReading.readabilityHandler = { handle in printed.add(handle.availableData) }
        try watcher.run()
        defer { watcher.terminate() }

        /// The events printed so far, as "kind message_id".
        func events() -> [String] {
            // The watched events, one JSON object per line from column 0 (the steps' own
            // output is indented).
            printed.lines.filter { $0.hasPrefix("{") }.compactMap { line -> String? in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let kind = object["kind"] as? String, let id = object["message_id"] as? String
                else { return nil }
                return "\(kind) \(id)"
            }
        }
        func waitFor(_ expected: [String]) async throws {
            let deadline = ContinuousClock.now + .seconds(30)
            while events() != expected, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(events() == expected, "printed: \(printed.lines.suffix(5))")
        }
        let runEvents = ["message.created MSG-001", "message.created MSG-002", "message.read MSG-001", "message.read MSG-001"]
        try await waitFor(runEvents)
        #expect(printed.lines.contains("11 passed, 0 failed"))

        var late = specExample()
        late["order_id"] = "QO-WATCH"
        late["message_id"] = "MSG-LATE"
        #expect(try await ResilienceTests.post(late, to: server.baseURL).status == .ok)
        try await waitFor(runEvents + ["message.created MSG-LATE"])
    }

    @Test(arguments: StoreUnderTest.available)
    func sendTestFailsWithWrongCredentials(_ kind: StoreUnderTest) async throws {
        try await withService(kind, setup: .live) { client, _, _ in
            let port = try #require(client.port)
            let runner = SendTestRunner(
                baseURL: "http://127.0.0.1:\(port)", username: testCredentials.username, password: "nope"
            )
            let steps = await runner.run()
            // 401 each time, until the address has failed the configured number of times, and
            // 429 from then on (the run makes more requests than the limit).
            let limit = AppConfiguration(auth: .init(credentials: testCredentials), http: .init(port: 0)).auth.failureLimit
            #expect(steps.allSatisfy { !$0.passed })
            #expect(steps.prefix(limit).allSatisfy { $0.status == 401 } && steps.dropFirst(limit).allSatisfy { $0.status == 429 }, "\(steps.map(\.status))")
        }
    }

    /// A `.env` written on Windows (CRLF) is read line by line, and its secrets stay out of
    /// the start-up log.
    @Test func aCRLFDotEnvIsReadLineByLineAndItsSecretsNeverReachTheLog() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let secret = "s3cr3t-crlf-\(UInt32.random(in: 0...UInt32.max))"
        try Data("HOST=127.0.0.1\r\nWEBHOOK_USERNAME=crlf_user\r\nWEBHOOK_PASSWORD=\(secret)\r\nLOG_LEVEL=debug\r\n".utf8)
            .write(to: folder.url.appendingPathComponent(".env"))
        let server = try await ServerProcess(environment: ["HOST": ""], in: folder, withTestCredentials: false)
        var request = HTTPClientRequest(url: server.baseURL + "/webhook/messages/QO-1")
        request.headers.add(name: "Authorization", value: "Basic " + Data("crlf_user:\(secret)".utf8).base64EncodedString())
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        #expect(response.status == .ok, "the password read from the CRLF file is exactly the secret")
        server.send(SIGTERM)
        _ = try await server.waitForExit(timeout: .seconds(30))

        let log = server.log
        #expect(log.contains(#""host":"127.0.0.1""#))
        #expect(!log.contains(secret))
        #expect(!log.contains("\\r"), "no value carried a carriage return into the log")
    }

    @Test func theExecutableRefusesToStartWithoutCredentials() async throws {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("qualia-webhook")
        try #require(FileManager.default.isExecutableFile(atPath: executable.path), "build the executable first: \(executable.path)")
        let folder = try TemporaryDirectory()
        defer { folder.remove() }

        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve"]
        process.currentDirectoryURL = folder.url
        process.environment = ["PATH": "/usr/bin:/bin", "WEBHOOK_PASSWORD": "set-but-no-user"]
        let standardError = Pipe()
        process.standardError = standardError
        process.standardOutput = Pipe()
        try process.run()
        _ = try await process.exitStatus()
        let message = String(decoding: standardError.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)

        #expect(process.terminationStatus == 78)
        #expect(message.contains("WEBHOOK_USERNAME is not set"))
        #expect(!message.contains("set-but-no-user"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("data")), "nothing is created before the configuration is valid")
    }
}

/// What a child process printed, line by line.
final class PrintedLines: Sendable {
    private let buffer = Mutex<[UInt8]>([])

    func add(_ data: Data) { buffer.withLock { $0 += data } }

    var lines: [String] { String(decoding: buffer.withLock { $0 }, as: UTF8.self).split(separator: "\n").map(String.init) }
}
