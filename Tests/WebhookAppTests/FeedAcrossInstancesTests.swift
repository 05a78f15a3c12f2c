import AsyncHTTPClient
import DynamoDB
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import SendTest
import StoreTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import WebhookApp

/// Three real processes on one DynamoDB table: two take deliveries concurrently, one of them
/// through a proxy that holds one of its writes back past the feed's gap timeout, while a
/// subscriber follows the stream of the third. It must receive every acknowledged change,
/// each message's in the order they were stored.
@Suite(.serialized) struct FeedAcrossInstancesTests {
    /// A delivery's version: `message_id@timestamp (ms)`.
    typealias Version = String

    /// POSTs a version, again after a `503` as Qualia would; returns it when it was stored
    /// (`created` or `updated`, or a `duplicate` after a `503`, whose write had landed after
    /// all), `nil` when it was a duplicate or stale.
    static func deliver(_ id: String, order: String, second: Int, to server: ServerProcess) async throws -> Version? {
        var payload = specExample()
        payload["order_id"] = order
        payload["message_id"] = id
        payload["text"] = "\(id) at \(second)"
        payload["timestamp"] = String(format: "2025-10-28T11:%02d:%02dZ", second / 60, second % 60)
        var outcomeUnknown = false
        for _ in 0..<5 {
            let response = try await ResilienceTests.post(payload, to: server.baseURL, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else {
                outcomeUnknown = true
                continue
            }
            let receipt = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
            let delivery = receipt["delivery"] as? String
            let milliseconds = Int64(1_761_649_200_000) + Int64(second) * 1000  // 2025-10-28T11:00:00Z + second
            let stored = delivery == "created" || delivery == "updated" || (delivery == "duplicate" && outcomeUnknown)
            return stored ? "\(id)@\(milliseconds)" : nil
        }
        Issue.record("\(id) at \(second) was never acknowledged")
        return nil
    }

    static func version(of event: StreamedEvent) -> Version? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(event.json.utf8)) as? [String: Any],
            let message = object["message"] as? [String: Any], let timestamp = message["timestamp"] as? Int64 ?? (message["timestamp"] as? Int).map(Int64.init)
        else { return nil }
        return "\(event.messageID)@\(timestamp)"
    }

    @Test(.enabled(if: MotoServer.shouldRun, "needs moto")) func aSubscriberOnAThirdInstanceGetsEveryChangeWhileOneWriteIsHeldBack() async throws {
        let moto = try #require(MotoServer.endpoint)
        let table = try await MotoServer.makeClient().shuttingDown { try await MotoServer.createTable(client: $0) }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        func environment(_ endpoint: String) -> [String: String] {
            [
                "STORE": "dynamodb", "DYNAMODB_TABLE": table, "AWS_ENDPOINT_URL_DYNAMODB": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true", "LOG_LEVEL": "warning",
            ]
        }
        // Held for longer than the readers' 3 s gap timeout: the subscriber's instance closes
        // the slot, and the held write, refused, is stored again under a new number.
        let rule = DelayingProxy.holdFirst("TransactWriteItems", containing: "M-HELD", for: .milliseconds(3_800))
        try await DelayingProxy.run(upstream: moto, rule: rule) { proxy in
            let first = try await ServerProcess(environment: environment(proxy.endpoint), in: folder)
            defer { first.send(SIGKILL) }
            let second = try await ServerProcess(environment: environment(moto), in: folder)
            defer { second.send(SIGKILL) }
            let third = try await ServerProcess(environment: environment(moto), in: folder)
            defer { third.send(SIGKILL) }
            let start = try await FeedCrashTests.feedEnd(third)

            let seen = EventList()
            let stream = FeedStreamClient(baseURL: third.baseURL, username: testCredentials.username, password: testCredentials.password)
            let stored = VersionSet()
            let following = Task {
                _ = try await stream.follow(after: start) { event in
                    seen.append(event)
                    return true
                }
            }
            defer { following.cancel() }
            // Both writers deliver versions of the same four messages, at rising times that
            // interleave (so some deliveries are stale); one of the first's is held back.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, server) in [first, second].enumerated() {
                    group.addTask {
                        for round in 0..<6 {
                            let id = round == 3 && index == 0 ? "M-HELD" : "M-\(round % 4)"
                            let order = id == "M-HELD" ? "QO-3I-HELD" : "QO-3I"
                            if let version = try await Self.deliver(id, order: order, second: round * 2 + index, to: server) {
                                stored.insert(version)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            // Every stored version reaches the subscriber, within a minute at most.
            let expectedVersions = stored.all
            let giveUp = ContinuousClock.now + .seconds(60)
            while !expectedVersions.isSubset(of: Set(seen.all.compactMap(Self.version))), ContinuousClock.now < giveUp {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(!proxy.heldRequests.isEmpty, "the proxy held a write back")
            let expected = stored.all
            let events = seen.all
            let received = events.compactMap(Self.version)
            #expect(expected.contains { $0.hasPrefix("M-HELD@") }, "the held write was acknowledged in the end")
            #expect(expected.isSubset(of: Set(received)), "missing: \(expected.subtracting(received).sorted())")
            #expect(Set(events.map(\.cursor)).count == events.count, "an event came twice")
            for id in Set(events.map(\.messageID)) {
                let times = received.filter { $0.hasPrefix(id + "@") }.compactMap { Int64($0.split(separator: "@")[1]) }
                #expect(times == times.sorted(), "\(id)'s events out of the order they were stored: \(times)")
            }
        }
    }
}

/// Versions a test collected from several tasks.
final class VersionSet: Sendable {
    private let versions = Mutex<Set<String>>([])

    var all: Set<String> { versions.withLock { $0 } }

    func insert(_ version: String) { versions.withLock { _ = $0.insert(version) } }
}
