import AWSSigning
import Foundation
import Logging
import MetricsTestKit
import StoreTestSupport
import Synchronization
import Testing

@testable import DynamoDB

/// Keeps every log record, so a test can read what was logged and with which metadata.
final class RecordingLogHandler: LogHandler, Sendable {
    /// One record.
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    private let storage = Mutex<[Record]>([])
    var records: [Record] { storage.withLock { $0 } }

    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }
    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        storage.withLock { $0.append(Record(level: event.level, message: "\(event.message)", metadata: event.metadata ?? [:])) }
    }
}

/// A DynamoDB stand-in with a clock of its own: it refuses a request whose `X-Amz-Date` is
/// more than five minutes from its clock, as DynamoDB does, answering
/// `InvalidSignatureException` and its own time in `Date`.
struct SkewedDynamoDB {
    /// How far the server's clock is from this machine's.
    var serverAhead: TimeInterval
    /// The window of `X-Amz-Date` it accepts around its clock.
    var window: TimeInterval = 300
    /// The error it refuses with: DynamoDB's `InvalidSignatureException`, or another
    /// service's spelling (`nil`).
    var refusalCode: String? = nil

    var serverNow: Date { Date().addingTimeInterval(serverAhead) }

    static let httpDate: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter
    }()

    static let amzDate: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter
    }()

    /// The time a request was signed at, from its `X-Amz-Date`.
    static func signedAt(_ request: RecordingHTTPServer.Request) -> Date? {
        request.header("x-amz-date").flatMap { amzDate.date(from: $0) }
    }

    func answer(_ request: RecordingHTTPServer.Request) -> RecordingHTTPServer.Answer {
        let now = serverNow
        let date = ("date", Self.httpDate.string(from: now))
        guard let signedAt = Self.signedAt(request) else {
            return .init(status: 400, headers: [date], body: DynamoDBClientTransportTests.error("MissingAuthenticationTokenException"))
        }
        if signedAt < now.addingTimeInterval(-window) {
            let message = "Signature expired: \(Self.amzDate.string(from: signedAt)) is now earlier than "
                + "\(Self.amzDate.string(from: now.addingTimeInterval(-window))) (\(Self.amzDate.string(from: now)) - 5 min.)"
            return .init(status: 400, headers: [date], body: DynamoDBClientTransportTests.error(refusalCode ?? "InvalidSignatureException", message))
        }
        if signedAt > now.addingTimeInterval(window) {
            let message = "Signature not yet current: \(Self.amzDate.string(from: signedAt)) is still later than "
                + "\(Self.amzDate.string(from: now.addingTimeInterval(window))) (\(Self.amzDate.string(from: now)) + 5 min.)"
            return .init(status: 400, headers: [date], body: DynamoDBClientTransportTests.error("InvalidSignatureException", message))
        }
        return .init(status: 200, headers: [date], body: DynamoDBClientTransportTests.activeTable)
    }
}

/// A clock this machine has wrong: the server's `Date` corrects it, once per call, for every
/// later request.
@Suite struct ClockSkewTests {
    func withClient(
        _ endpoint: String, logs: RecordingLogHandler = RecordingLogHandler(), metrics: TestMetrics = TestMetrics(),
        _ body: (DynamoDBClient) async throws -> Void
    ) async throws {
        try await DynamoDBClient(
            configuration: .init(region: "us-east-1", endpoint: endpoint, retryPolicy: DynamoDBClientTransportTests.fastRetries, metricsFactory: metrics),
            credentialProvider: StaticCredentialProvider(AWSCredentials(accessKeyID: "AKIDTEST", secretAccessKey: "secret")),
            logger: Logger(label: "test", factory: { _ in logs })
        ).shuttingDown(after: body)
    }

    @Test(arguments: [3600.0, -1200.0])
    func aSkewedClockIsCorrectedByTheServersDateAndEveryLaterRequestSignedWithIt(_ serverAhead: TimeInterval) async throws {
        let server = SkewedDynamoDB(serverAhead: serverAhead)
        let logs = RecordingLogHandler()
        let metrics = TestMetrics()
        try await RecordingHTTPServer.run({ request, _ in server.answer(request) }) { recording, endpoint in
            try await withClient(endpoint, logs: logs, metrics: metrics) { client in
                let status = try await client.describeTable("t").tableStatus
                #expect(status == "ACTIVE")
                _ = try await client.describeTable("t")
                _ = try await client.describeTable("t")
                // Within a minute (AWS allows five): the server's `Date` has whole seconds, and a
                // loaded machine reads the answer seconds after the server dated it.
                #expect(abs(client.signingClock.offset - serverAhead) < 60)
            }
            // One refusal, then every request signed within the server's window.
            let signed = recording.received.compactMap(SkewedDynamoDB.signedAt)
            #expect(signed.count == 4)
            #expect(abs(signed[0].timeIntervalSinceNow) < 60)
            for later in signed.dropFirst() { #expect(abs(later.timeIntervalSince(server.serverNow)) < 60) }
        }
        let corrections = logs.records.filter { $0.metadata["skew_seconds"] != nil }
        #expect(corrections.count == 1)
        let logged = corrections.first.flatMap { Double("\($0.metadata["skew_seconds"]!)") }
        #expect(logged.map { abs($0 - serverAhead) < 60 } == true)
        #expect(corrections.first?.level == .warning)
        #expect(corrections.first?.metadata["operation"] == "DescribeTable")
        let retries = try metrics.expectCounter(DynamoDBClient.retriesMetric, [("operation", "DescribeTable"), ("reason", "clock_skew")])
        #expect(retries.totalValue == 1)
    }

    @Test(arguments: ["RequestTimeTooSkewed", "RequestExpired"])
    func otherServicesSkewCodesAreCorrectedTooAndAreNotTakenForExpiredCredentials(_ code: String) async throws {
        let server = SkewedDynamoDB(serverAhead: 3600, refusalCode: code)
        let source = NumberedTokenSource()
        try await RecordingHTTPServer.run({ request, _ in server.answer(request) }) { recording, endpoint in
            try await DynamoDBClient(
                configuration: .init(region: "us-east-1", endpoint: endpoint, retryPolicy: DynamoDBClientTransportTests.fastRetries),
                credentialProvider: CachingCredentialProvider(source), logger: Logger(label: "test")
            ).shuttingDown { client in
                _ = try await client.describeTable("t")
                #expect(abs(client.signingClock.offset - 3600) < 60)
            }
            #expect(recording.received.count == 2)
        }
        // RequestExpired is on both lists: the skewed Date makes it the clock's fault.
        #expect(await source.fetches == 1)
    }

    @Test func aBadSignatureWithTheClocksAgreeingIsNotTakenForSkew() async throws {
        // A wrong secret: the server's Date agrees with ours, so the clock is not to blame.
        let refused = RecordingHTTPServer.Answer(
            status: 400, headers: [("date", SkewedDynamoDB.httpDate.string(from: Date()))],
            body: DynamoDBClientTransportTests.error("InvalidSignatureException", "The request signature we calculated does not match the signature you provided.")
        )
        try await RecordingHTTPServer.run({ _, _ in refused }) { recording, endpoint in
            try await withClient(endpoint) { client in
                let error = await #expect(throws: DynamoDBError.self) { try await client.describeTable("t") }
                #expect(error?.code == "InvalidSignatureException")
                #expect(client.signingClock.offset == 0)
            }
            #expect(recording.received.count == 1)
        }
    }

    @Test func aServerThatStillRefusesAfterTheCorrectionIsBelieved() async throws {
        // It says its clock is an hour ahead, but refuses every time it is given.
        let later = SkewedDynamoDB.httpDate.string(from: Date().addingTimeInterval(3600))
        let refused = RecordingHTTPServer.Answer(
            status: 400, headers: [("date", later)], body: DynamoDBClientTransportTests.error("InvalidSignatureException", "Signature expired")
        )
        try await RecordingHTTPServer.run({ _, _ in refused }) { recording, endpoint in
            try await withClient(endpoint) { client in
                let error = await #expect(throws: DynamoDBError.self) { try await client.describeTable("t") }
                #expect(error?.code == "InvalidSignatureException")
            }
            #expect(recording.received.count == 2)
        }
    }

    @Test func theSigningClockMovesOnlyForASkewOfFourMinutesOrMore() {
        let local = Date(timeIntervalSince1970: 1_800_000_000)
        let clock = SigningClock(localNow: { local })
        #expect(clock.now() == local)
        #expect(clock.correct(serverDate: local.addingTimeInterval(239), signedAt: local) == nil)
        #expect(clock.now() == local)
        #expect(clock.correct(serverDate: local.addingTimeInterval(-240), signedAt: local) == -240)
        #expect(clock.now() == local.addingTimeInterval(-240))
        // Judged against the time the refused request was signed with, so requests refused
        // together all learn the same offset, and a corrected clock is not corrected again.
        #expect(clock.correct(serverDate: local.addingTimeInterval(-240), signedAt: local) == -240)
        #expect(clock.correct(serverDate: local.addingTimeInterval(-200), signedAt: clock.now()) == nil)
        #expect(clock.offset == -240)
    }

    @Test func httpDatesAreRead() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == Date(timeIntervalSince1970: 784_111_777))
        #expect(HTTPDate.parse("Thu, 01 Jan 1970 00:00:00 GMT") == Date(timeIntervalSince1970: 0))
        #expect(HTTPDate.parse("Tue, 29 Feb 2028 23:59:59 GMT") == Date(timeIntervalSince1970: 1_835_481_599))
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        #expect(HTTPDate.parse(SkewedDynamoDB.httpDate.string(from: now)) == now)
        for malformed in ["", "Sun, 06 Nov 1994 08:49:37", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 8:49:37 GMT"]
        {
            #expect(HTTPDate.parse(malformed) == nil, "\(malformed)")
        }
    }
}
