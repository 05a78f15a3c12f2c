import Foundation
import HummingbirdTesting
import StoreTestSupport
import Testing

@testable import WebhookApp

/// The service over a real socket, and the real executable.
@Suite struct LiveServerTests {
    @Test(arguments: StoreUnderTest.available)
    func sendTestPassesAgainstALiveServer(_ kind: StoreUnderTest) async throws {
        try await withService(kind, setup: .live) { client, _, _ in
            let port = try #require(client.port)
            let runner = SendTestRunner(baseURL: "http://127.0.0.1:\(port)", credentials: testCredentials)
            let steps = await runner.run()
            #expect(steps.count == 4)
            for step in steps { #expect(step.passed, "\(step.title): \(step.failure ?? "")") }
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func sendTestFailsWithWrongCredentials(_ kind: StoreUnderTest) async throws {
        try await withService(kind, setup: .live) { client, _, _ in
            let port = try #require(client.port)
            let runner = SendTestRunner(
                baseURL: "http://127.0.0.1:\(port)", credentials: BasicCredentials(username: "webhook_user", password: "nope")
            )
            let steps = await runner.run()
            #expect(steps.allSatisfy { !$0.passed && $0.status == 401 })
        }
    }

    @Test func theExecutableRefusesToStartWithoutCredentials() throws {
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
        process.waitUntilExit()
        let message = String(decoding: standardError.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)

        #expect(process.terminationStatus == 78)
        #expect(message.contains("WEBHOOK_USERNAME is not set"))
        #expect(!message.contains("set-but-no-user"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("data")), "nothing is created before the configuration is valid")
    }
}
