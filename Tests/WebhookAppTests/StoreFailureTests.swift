import AsyncHTTPClient
import Foundation
import NIOHTTP1
import Logging
import MessageStore
import SQLiteMessageStore
import NIOCore
import StoreTestSupport
import Testing

@testable import WebhookApp

#if canImport(Glibc)
import Glibc
#endif

/// A store that cannot write never looks ready and never answers 500: the service refuses
/// to start on a database it cannot write, and a write that fails at run time is a 503 with
/// `Retry-After`, which Qualia retries. The real binary, as an unprivileged user where the
/// test needs file permissions to count (root may write any file).
@Suite(.serialized) struct StoreFailureTests {
    /// The three ways an unprivileged service meets a database it cannot write.
    enum Unwritable: String, CaseIterable, CustomStringConvertible {
        /// The file exists with mode 0444; its folder is the service's own.
        case readOnlyFile
        /// The file and its folder are someone else's, read-only for the service.
        case readOnlyFolder
        /// No file yet, in a folder the service may not write.
        case noFileInAReadOnlyFolder

        var description: String { rawValue }
    }

    @Test(arguments: Unwritable.allCases)
    func theServiceRefusesToStartOnADatabaseItCannotWrite(_ setup: Unwritable) async throws {
        try #require(getuid() == 0, "the test drops to user nobody, which needs root")
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let binary = try copyOfTheServer(into: folder)
        let dataFolder = folder.path("data")
        try FileManager.default.createDirectory(atPath: dataFolder, withIntermediateDirectories: true)
        let path = dataFolder + "/messages.sqlite"
        if setup != .noFileInAReadOnlyFolder {
            let store = try await SQLiteMessageStore.open(.init(path: path), logger: .init(label: "test"))
            try await store.shutdown()
            try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
        }
        if setup == .readOnlyFile { chown(dataFolder, 65534, 65534) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", binary.path, "serve"]
        process.currentDirectoryURL = folder.url
        process.environment = [
            "PATH": "/usr/bin:/bin", "PORT": String(try freeLoopbackPort()), "SQLITE_PATH": path,
            "WEBHOOK_USERNAME": testCredentials.username, "WEBHOOK_PASSWORD": testCredentials.password,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        _ = try await process.exitStatus()
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)

        #expect(process.terminationStatus != 0, "\(log)")
        #expect(log.contains(path), "the log names the file: \(log)")
        #expect(!log.contains("Starting qualia-webhook"), "no listener was started: \(log)")
    }

    /// A file size limit (`ulimit -f`) stands in for a full disk: SQLite's writes fail the
    /// same way. Every failing POST is a 503 with `Retry-After`, `/ready` turns 503, and once
    /// the limit is lifted both recover; every acknowledged message is stored.
    @Test func aStoreThatCannotWriteAtRunTimeAnswers503AndReadyFollowsIt() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let server = try await ServerProcess(
            environment: ["SQLITE_PATH": folder.path("messages.sqlite"), "LISTING_CACHE_BYTES": "0"], in: folder,
            launcher: ["/bin/bash", "-c", #"trap '' XFSZ; ulimit -S -f 4096; exec "$0" "$@""#]
        )
        #expect(try await get(server, "/ready").status == .ok)

        var acknowledged: [String] = []
        var failures: [HTTPClientResponse] = []
        for index in 0..<200 where failures.count < 3 {
            let id = "MSG-\(index)"
            let response = try await post(server, messageID: id, text: String(repeating: "x", count: 150_000))
            switch response.status {
            case .ok: acknowledged.append(id)
            default: failures.append(response)
            }
        }
        try #require(failures.count == 3, "the file size limit was never reached")
        for failure in failures {
            #expect(failure.status == .serviceUnavailable)
            #expect(failure.headers.first(name: "Retry-After") == "1")
        }
        let notReady = try await eventually { try await get(server, "/ready").status == .serviceUnavailable }
        #expect(notReady, "/ready must say that a write would fail")

        let lift = Process()
        lift.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        lift.arguments = ["--pid", String(server.process.processIdentifier), "--fsize=unlimited"]
        try lift.run()
        _ = try await lift.exitStatus()
        let ready = try await eventually { try await get(server, "/ready").status == .ok }
        #expect(ready, "/ready recovers with the store")
        let after = try await post(server, messageID: "MSG-after", text: "small")
        #expect(after.status == .ok)
        acknowledged.append("MSG-after")

        let listing = try await get(server, "/webhook/messages/QO-FULL")
        let body = try await listing.body.collect(upTo: 64 * 1024 * 1024)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
        let stored = Set((object["messages"] as? [[String: Any]] ?? []).compactMap { $0["messageId"] as? String })
        #expect(Set(acknowledged).isSubset(of: stored), "every acknowledged message is stored")
        #expect(!server.log.contains(#""status":500"#))
    }

    // MARK: Helpers

    /// The server binary, copied where user nobody can run it.
    private func copyOfTheServer(into folder: TemporaryDirectory) throws -> URL {
        let copy = folder.url.appendingPathComponent("qualia-webhook")
        try FileManager.default.copyItem(at: ServerProcess.executable, to: copy)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.url.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: copy.path)
        return copy
    }

    private func get(_ server: ServerProcess, _ path: String) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: server.baseURL + path)
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(testCredentials.username):\(testCredentials.password)".utf8).base64EncodedString())
        return try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    }

    private func post(_ server: ServerProcess, messageID: String, text: String) async throws -> HTTPClientResponse {
        var payload = specExample()
        payload["order_id"] = "QO-FULL"
        payload["message_id"] = messageID
        payload["text"] = text
        var request = HTTPClientRequest(url: server.baseURL + "/webhook/messages")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(testCredentials.username):\(testCredentials.password)".utf8).base64EncodedString())
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(try jsonBody(payload))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1024 * 1024)
        return response
    }

    /// Asks `condition` every 200 ms for up to 10 s.
    private func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<50 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }
}
