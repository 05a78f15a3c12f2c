import AsyncHTTPClient
import Foundation
import NIOHTTP1
import NIOCore
import HummingbirdTesting
import SendTest
import StoreTestSupport
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
            #expect(steps.count == 10)
            for step in steps { #expect(step.passed, "\(step.title): \(step.failure ?? "")") }
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func sendTestFailsWithWrongCredentials(_ kind: StoreUnderTest) async throws {
        try await withService(kind, setup: .live) { client, _, _ in
            let port = try #require(client.port)
            let runner = SendTestRunner(
                baseURL: "http://127.0.0.1:\(port)", username: testCredentials.username, password: "nope"
            )
            let steps = await runner.run()
            #expect(steps.allSatisfy { !$0.passed && $0.status == 401 })
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
