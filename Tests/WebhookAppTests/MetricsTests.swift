import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SQLiteMessageStore
import StoreTestSupport
import Testing

@testable import WebhookApp

/// `GET /metrics`: who may read it, and that what the service did shows in it.
@Suite struct MetricsTests {
    @Test func metricsNeedTheWebhookOrTheReaderCredentials() async throws {
        try await withService(.sqlite, setup: .live, configure: { $0.auth.readerCredentials = readerCredentials }) { client, _, _ in
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .unauthorized)
            let wrong = basicAuthorization(testCredentials.username, "not-the-password")
            #expect(try await client.execute(uri: "/metrics", method: .get, headers: wrong).status == .unauthorized)
            for credentials in [validAuthorization, readerAuthorization] {
                let response = try await client.execute(uri: "/metrics", method: .get, headers: credentials)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                #expect(response.text.contains("# TYPE qualia_webhook_http_requests_total counter"))
            }
        }
    }

    @Test func metricsArePublicWithMetricsPublic() async throws {
        try await withService(.sqlite, setup: .live, configure: { $0.metrics.isPublic = true }) { client, _, _ in
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            #expect(response.text.contains("# TYPE qualia_webhook_store_calls_total counter"))
        }
    }

    @Test func metricsOffAnswers404EvenWithCredentials() async throws {
        try await withService(.sqlite, setup: .live, configure: { $0.metrics = .init(isEnabled: false, isPublic: true) }) { client, _, _ in
            #expect(try await client.postMessage(specExample()).status == .ok)
            let response = try await client.execute(uri: "/metrics", method: .get, headers: validAuthorization)
            #expect(response.status == .notFound)
            #expect(try response.json()["error"] as? String == "not_found")
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func requestsStoreCallsAndAuthFailuresAreCountedByTheirLabels(_ kind: StoreUnderTest) async throws {
        try await withService(kind, setup: .live) { client, _, _ in
            let before = try await client.scrape()
            #expect(try await client.postMessage(specExample()).status == .ok)
            #expect(try await client.getMessages("QO-NOBODY").status == .ok)
            #expect(try await client.postMessage(specExample(), headers: [:]).status == .unauthorized)
            let invalid = try await client.execute(
                uri: "/webhook/messages", method: .post, headers: validAuthorization, body: ByteBuffer(string: "{not json")
            )
            #expect(invalid.status == .badRequest)
            #expect(try await client.execute(uri: "/no/such/path/QO-123", method: .get, headers: validAuthorization).status == .notFound)
            let after = try await client.scrape()

            func rise(_ name: String, _ labels: [String: String]) -> Double { after.value(name, labels) - before.value(name, labels) }
            let requests = "qualia_webhook_http_requests_total"
            #expect(rise(requests, ["route": "/webhook/messages", "method": "POST", "status": "200"]) == 1)
            #expect(rise(requests, ["route": "/webhook/messages/{order_id}", "method": "GET", "status": "200"]) == 1)
            #expect(rise(requests, ["route": "/webhook/messages", "method": "POST", "status": "401"]) == 1)
            #expect(rise(requests, ["route": "/webhook/messages", "method": "POST", "status": "400"]) == 1)
            #expect(rise(requests, ["route": "unmatched", "method": "GET", "status": "404"]) == 1)
            // Never the raw path: the order id is in no label.
            #expect(!after.text.contains("QO-NOBODY") && !after.text.contains("/no/such/path"))
            // The histogram counts the same requests as the counter.
            #expect(
                after.value("qualia_webhook_http_request_duration_seconds_count", ["route": "/webhook/messages", "method": "POST", "status": "200"])
                    == after.value(requests, ["route": "/webhook/messages", "method": "POST", "status": "200"])
            )

            let calls = "qualia_webhook_store_calls_total"
            #expect(rise(calls, ["operation": "store", "outcome": "success"]) == 1)
            #expect(rise(calls, ["operation": "listing", "outcome": "success"]) == 1)
            #expect(rise(calls, ["operation": "store", "outcome": "failure"]) == 0)
            #expect(rise("qualia_webhook_store_call_duration_seconds_count", ["operation": "store", "outcome": "success"]) == 1)

            #expect(rise("qualia_webhook_auth_failures_total", ["reason": "missing"]) == 1)
            #expect(rise("qualia_webhook_auth_failures_total", ["reason": "wrong_password"]) == 0)
        }
    }

    @Test func sqliteGroupCommitsRecordTheirBatchSizes() async throws {
        try await withService(.sqlite, setup: .live) { client, _, _ in
            let before = try await client.scrape()
            for id in 1...3 {
                var message = specExample()
                message["message_id"] = "MSG-BATCH-\(id)"
                #expect(try await client.postMessage(message).status == .ok)
            }
            let after = try await client.scrape()
            let name = SQLiteMessageStore.groupCommitBatchSizeMetric
            // Each POST waits for its commit, so three in turn are three commits of one.
            #expect(after.value(name + "_count") - before.value(name + "_count") == 3)
            #expect(after.value(name + "_sum") - before.value(name + "_sum") == 3)
            #expect(after.value(name + "_bucket", ["le": "1.0"]) - before.value(name + "_bucket", ["le": "1.0"]) == 3)
        }
    }

    @Test func wrongPasswordsAndLockoutsAreCountedWithoutUserNames() async throws {
        let configure: (inout AppConfiguration) -> Void = {
            $0.auth.failureLimit = 2
            $0.auth.readerCredentials = readerCredentials
        }
        try await withService(.sqlite, setup: .live, configure: configure) { client, _, _ in
            let wrong = basicAuthorization(testCredentials.username, "wrong")
            let stranger = basicAuthorization("someone-else", "wrong")
            #expect(try await client.postMessage(specExample(), headers: stranger).status == .unauthorized)
            #expect(try await client.postMessage(specExample(), headers: wrong).status == .unauthorized)
            #expect(try await client.postMessage(specExample(), headers: wrong).status == .unauthorized)
            #expect(try await client.postMessage(specExample(), headers: wrong).status == .tooManyRequests)
            // The webhook's user name is locked out at this address now; the reader's is not.
            let metrics = try await client.scrape(headers: readerAuthorization)
            #expect(metrics.value("qualia_webhook_auth_failures_total", ["reason": "unknown_user"]) == 1)
            #expect(metrics.value("qualia_webhook_auth_failures_total", ["reason": "wrong_password"]) == 2)
            #expect(metrics.value("qualia_webhook_auth_lockouts_total") == 1)
            #expect(metrics.value("qualia_webhook_auth_refused_during_lockout_total") == 1)
            #expect(metrics.value("qualia_webhook_http_requests_total", ["route": "/webhook/messages", "method": "POST", "status": "429"]) == 1)
            #expect(!metrics.text.contains("someone-else") && !metrics.text.contains(testCredentials.username))
        }
    }

    @Test func liveSubscribersTheirUpgradesAndTheirFeedLagAreRecorded() async throws {
        try await withService(.sqlite, setup: .live) { client, _, _ in
            let stream = FeedStreamTests.streamClient(try #require(client.port))
            #expect(try await client.scrape().value("qualia_webhook_feed_lag_seconds_count") == 0)
            async let events = FeedStreamTests.collect(stream, after: nil, count: 1)
            try await client.waitUntil("qualia_webhook_feed_subscribers", is: 1)
            #expect(try await client.postMessage(specExample()).status == .ok)
            #expect(try await events.count == 1)
            // The follower records an event's lag before the stream can send it.
            let metrics = try await client.scrape()
            #expect(metrics.value("qualia_webhook_feed_lag_seconds_count") == 1)
            // The accepted upgrade, counted beside the main router's requests.
            #expect(metrics.value("qualia_webhook_http_requests_total", ["route": "/webhook/stream", "method": "GET", "status": "101"]) == 1)
            try await client.waitUntil("qualia_webhook_feed_subscribers", is: 0)
        }
    }

    @Test func theArchiveQueueAndItsFailedAttemptsAreRecorded() async throws {
        try await AttachmentArchiveTests.withArchivingService(.sqlite, firstPause: .seconds(600), queueSamplingInterval: .milliseconds(100)) {
            client, source, _, _ in
            source.failNext(1_000)
            let flaky = AttachmentArchiveTests.payload(order: "QO-METRICS-FLAKY", urls: [source.url("/flaky/a.pdf")])
            let gone = AttachmentArchiveTests.payload(order: "QO-METRICS-GONE", urls: [source.url("/files/never-put.pdf")])
            #expect(try await client.postMessage(flaky).status == .ok)
            #expect(try await client.postMessage(gone).status == .ok)
            // The 503 is retried (in 600 s, so its job waits); the 404 is given up.
            try await client.waitUntil("qualia_webhook_archive_failures_total", labels: ["kind": "retried"], is: 1)
            try await client.waitUntil("qualia_webhook_archive_failures_total", labels: ["kind": "given_up"], is: 1)
            try await client.waitUntil("qualia_webhook_archive_queue_depth", is: 1)
        }
    }

    @Test(.enabled(if: PrometheusTextParser.isAvailable || MotoServer.isCI, "skipped: python3 cannot import prometheus_client (pip install prometheus_client)"))
    func theWholeOutputParsesWithPrometheusOwnParser() async throws {
        try await withService(.sqlite, setup: .live) { client, _, _ in
            #expect(try await client.postMessage(specExample()).status == .ok)
            #expect(try await client.postMessage(specExample(), headers: [:]).status == .unauthorized)
            let text = try await client.scrape().text
            let families = try PrometheusTextParser.families(of: text)
            let expected: [String: String] = [
                "qualia_webhook_http_requests": "counter",
                "qualia_webhook_http_request_duration_seconds": "histogram",
                "qualia_webhook_store_calls": "counter",
                "qualia_webhook_store_call_duration_seconds": "histogram",
                "qualia_webhook_auth_failures": "counter",
                "qualia_webhook_auth_lockouts": "counter",
                "qualia_webhook_auth_refused_during_lockout": "counter",
                "qualia_webhook_feed_subscribers": "gauge",
                "qualia_webhook_feed_lag_seconds": "histogram",
                "qualia_webhook_sqlite_group_commit_batch_size": "histogram",
            ]
            for (name, type) in expected {
                #expect(families[name]?.type == type, "\(name)")
            }
            // The parser names a counter without `_total`; its samples keep it.
            #expect(families["qualia_webhook_http_requests"]?.samples == ["qualia_webhook_http_requests_total"])
            #expect(
                families["qualia_webhook_http_request_duration_seconds"]?.samples
                    == ["qualia_webhook_http_request_duration_seconds_bucket", "qualia_webhook_http_request_duration_seconds_count", "qualia_webhook_http_request_duration_seconds_sum"]
            )
            #expect(families.keys.allSatisfy { $0.hasPrefix("qualia_webhook_") })
        }
    }

    @Test func metricsSettingsAreReadAndCheckedWithTheOthers() throws {
        let base = ["WEBHOOK_USERNAME": "u", "WEBHOOK_PASSWORD": "p"]
        let defaults = try AppConfiguration(environment: base).metrics
        #expect(defaults == .init(isEnabled: true, isPublic: false))
        let set = try AppConfiguration(environment: base.merging(["METRICS_ENABLED": "FALSE", "METRICS_PUBLIC": "true"]) { $1 }).metrics
        #expect(set == .init(isEnabled: false, isPublic: true))
        #expect(throws: ConfigurationError(problems: ["METRICS_ENABLED must be true or false", "METRICS_PUBLIC must be true or false"])) {
            try AppConfiguration(environment: base.merging(["METRICS_ENABLED": "yes", "METRICS_PUBLIC": "1"]) { $1 })
        }
    }
}

/// The samples of one scrape of `/metrics`.
struct MetricsScrape {
    /// The exposition as served.
    var text: String
    private var samples: [(name: String, labels: [String: String], value: Double)] = []

    init(_ text: String) {
        self.text = text
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let sample = Self.sample(line) else { continue }
            samples.append(sample)
        }
    }

    /// The sum of the samples named `name` whose labels include `labels`; 0 when none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }.reduce(0) { $0 + $1.value }
    }

    /// `name{label="value",…} number`, with `\"`, `\\` and `\n` escapes in values.
    private static func sample(_ line: Substring) -> (name: String, labels: [String: String], value: Double)? {
        var labels: [String: String] = [:]
        let name: Substring
        var rest: Substring
        if let brace = line.firstIndex(of: "{") {
            name = line[..<brace]
            rest = line[line.index(after: brace)...]
            while let equals = rest.firstIndex(of: "=") {
                let key = rest[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
                var value = ""
                var index = rest.index(equals, offsetBy: 2)  // past `="`
                while rest[index] != "\"" {
                    if rest[index] == "\\" {
                        index = rest.index(after: index)
                        value.append(rest[index] == "n" ? "\n" : rest[index])
                    } else {
                        value.append(rest[index])
                    }
                    index = rest.index(after: index)
                }
                labels[key] = value
                rest = rest[rest.index(after: index)...]
                if rest.first == "}" { break }
            }
            rest = rest.drop(while: { $0 == "}" })
        } else {
            guard let space = line.firstIndex(of: " ") else { return nil }
            name = line[..<space]
            rest = line[space...]
        }
        guard let value = Double(rest.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "+Inf", with: "inf")) else { return nil }
        return (String(name), labels, value)
    }
}

extension TestClientProtocol {
    /// `GET /metrics`, with the webhook's credentials unless others are given.
    func scrape(headers: HTTPFields = validAuthorization) async throws -> MetricsScrape {
        let response = try await execute(uri: "/metrics", method: .get, headers: headers)
        try #require(response.status == .ok)
        return MetricsScrape(response.text)
    }

    /// Scrapes until the series `name` with `labels` reads `value`, for at most 20 seconds.
    func waitUntil(_ name: String, labels: [String: String] = [:], is value: Double) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await scrape().value(name, labels) != value {
            try #require(ContinuousClock.now < deadline, "\(name) never became \(value)")
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// `scripts/parse-prometheus-text.py`: Prometheus text read by `prometheus_client`'s parser.
enum PrometheusTextParser {
    /// One metric family as the parser read it: its name (a counter's without `_total`), its
    /// type, and the names of its samples.
    struct Family: Decodable {
        var name: String
        var type: String
        var samples: [String]
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/parse-prometheus-text.py")
        .standardized

    /// Whether `python3` can import `prometheus_client` here.
    static let isAvailable = Python.canImport("prometheus_client.parser")

    /// The families the parser found, by name.
    static func families(of text: String) throws -> [String: Family] {
        let (status, output, errors) = try Python.run([script.path], input: Data(text.utf8))
        try #require(status == 0, "prometheus_client could not parse the exposition: \(errors)")
        let families = try JSONDecoder().decode([Family].self, from: output)
        return Dictionary(families.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }
}
