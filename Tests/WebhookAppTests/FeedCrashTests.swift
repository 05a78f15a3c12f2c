import AsyncHTTPClient
import DynamoDB
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import SendTest
import StoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import WebhookApp

/// The change feed across a crash of the real process: a subscriber that was following the
/// stream when the server was killed resumes from its last cursor after the restart and gets
/// every change that was acknowledged, on each store.
@Suite(.serialized) struct FeedCrashTests {
    /// The server's environment for a fresh store of `kind`; on DynamoDB, a table on `moto`.
    static func environment(_ kind: StoreUnderTest, in folder: TemporaryDirectory, moto: MotoProcess?) async throws -> [String: String] {
        switch kind {
        case .sqlite:
            return ["SQLITE_PATH": folder.path("messages.sqlite"), "LOG_LEVEL": "warning"]
        case .dynamodb:
            let endpoint = try #require(moto?.endpoint)
            let client = try DynamoDBTestClient.make(endpoint: endpoint)
            let table = try await MotoServer.createTable(client: client)
            try await client.shutdown()
            return [
                "STORE": "dynamodb", "DYNAMODB_TABLE": table, "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true", "LOG_LEVEL": "warning",
            ]
        }
    }

    static func feedEnd(_ server: ServerProcess) async throws -> String {
        var request = HTTPClientRequest(url: server.baseURL + "/webhook/feed?after=now")
        request.headers.add(name: "Authorization", value: validAuthorization[.authorization]!)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        let page = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
        return try #require(page["next_cursor"] as? String)
    }

    @Test(arguments: StoreUnderTest.available)
    func aSubscriberResumingAfterSIGKILLGetsEveryAcknowledgedChange(_ kind: StoreUnderTest) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        // On DynamoDB a moto of its own: the load here would starve the suite's other tests of
        // the shared one, and be starved by them.
        let moto = kind == .dynamodb ? try MotoProcess() : nil
        try await moto?.start()
        defer { moto?.stop() }
        let environment = try await Self.environment(kind, in: folder, moto: moto)
        let (enough, postTimeout): (Int, TimeAmount) = kind == .sqlite ? (40, .seconds(2)) : (20, .seconds(10))
        let server = try await ServerProcess(environment: environment, in: folder)
        defer { server.send(SIGKILL) }
        let start = try await Self.feedEnd(server)
        let stream = FeedStreamClient(baseURL: server.baseURL, username: testCredentials.username, password: testCredentials.password)
        let seen = EventList()
        let acknowledged = Acknowledged()
        let loadStarted = ContinuousClock.now

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Follows until the connection dies with the server.
                _ = try? await stream.follow(after: start) { event in
                    seen.append(event)
                    return true
                }
            }
            for worker in 0..<8 {
                group.addTask {
                    var sequence = 0
                    while ContinuousClock.now - loadStarted < .seconds(20) {
                        sequence += 1
                        let payload = ResilienceTests.payload(order: "QO-FEEDCRASH-\(worker)", id: "MSG-\(sequence)", text: "w\(worker) #\(sequence)")
                        guard let response = try? await ResilienceTests.post(payload, to: server.baseURL, timeout: postTimeout) else { return }
                        _ = try? await response.body.collect(upTo: 1 << 20)
                        if response.status == .ok { acknowledged.record("QO-FEEDCRASH-\(worker)/MSG-\(sequence)", "") }
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(300))
                while acknowledged.count < enough && ContinuousClock.now - loadStarted < .seconds(15) {
                    try await Task.sleep(for: .milliseconds(20))
                }
                server.send(SIGKILL)
            }
            try await group.waitForAll()
        }
        #expect(try await server.waitForExit(timeout: .seconds(10))?.reason == .uncaughtSignal)
        let sent = Set(acknowledged.all.keys)
        try #require(sent.count >= enough / 2, "the load must have been running when the server was killed (\(sent.count) acknowledged)")

        let restarted = try await ServerProcess(environment: environment, in: folder)
        defer { restarted.send(SIGKILL) }
        let before = seen.all
        let resumeFrom = before.last?.cursor ?? start
        let resumedStream = FeedStreamClient(baseURL: restarted.baseURL, username: testCredentials.username, password: testCredentials.password)
        let missing = Set(sent.subtracting(before.map { "\($0.orderID)/\($0.messageID)" }))
        let after = EventList()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                _ = try await resumedStream.follow(after: resumeFrom) { event in
                    after.append(event)
                    return !missing.isSubset(of: Set(after.all.map { "\($0.orderID)/\($0.messageID)" }))
                }
            }
            // Ends as soon as every acknowledged change arrived; the bound is for a broken feed
            // only (after the kill, slots the killed process took wait out their gap timeout,
            // and moto is slow on a loaded machine).
            group.addTask { try await Task.sleep(for: .seconds(90)) }
            try await group.next()
            group.cancelAll()
        }
        let all = before + after.all
        let received = Set(all.map { "\($0.orderID)/\($0.messageID)" })
        #expect(sent.isSubset(of: received), "lost across the crash: \(sent.subtracting(received).sorted().prefix(10))")
        #expect(Set(all.map(\.cursor)).count == all.count, "an event came twice")
        #expect(all.allSatisfy { $0.kind == "message.created" })
    }
}
