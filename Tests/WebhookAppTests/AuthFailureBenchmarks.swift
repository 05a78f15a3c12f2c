import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import StoreTestSupport
import Testing

@testable import WebhookApp

/// What a failing authentication costs with few and with many client addresses tracked.
///
/// Runs only with `BENCH=1` and asserts no timings: it prints its figures (see
/// BENCHMARKS.md, "Auth failures at 100,000 addresses"). Speed is measured here, not tested.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["BENCH"] == "1", "set BENCH=1 to run the benchmarks"), .serialized)
struct AuthFailureBenchmarks {
    /// Addresses in rotation: a few, as many as the table holds, and more (every request new).
    static let rotations = [10, AuthFailureLimiter.defaultCapacity, 10 * AuthFailureLimiter.defaultCapacity]

    static func address(_ index: Int) -> String {
        "10.\(index >> 16 & 255).\(index >> 8 & 255).\(index & 255)" + (index >= 1 << 24 ? "/\(index >> 24)" : "")
    }

    static func report(_ what: String, rotation: Int, requests: Int, took: Duration) {
        let nanoseconds = Double(took.components.seconds) * 1e9 + Double(took.components.attoseconds) / 1e9
        print("AUTH_BENCH \(what) addresses=\(rotation) requests=\(requests) per_request_us=\(String(format: "%.2f", nanoseconds / Double(requests) / 1000))")
    }

    /// The limiter's part of a failing request: the lockout check, then the failure.
    @Test func limiterCostPerFailingRequest() {
        let requests = 1_000_000
        for rotation in Self.rotations {
            let limiter = AuthFailureLimiter(policy: .init(limit: .max, window: .seconds(3600), lockout: .seconds(60)))
            let keys = (0..<min(rotation, AuthFailureLimiter.defaultCapacity) + requests).map {
                AuthFailureLimiter.Key(address: Self.address($0 % rotation), username: nil)
            }
            // Fill the table first, as a flood would have.
            for key in keys.prefix(min(rotation, AuthFailureLimiter.defaultCapacity)) { _ = limiter.recordFailure(for: key) }
            let measured = keys.dropFirst(min(rotation, AuthFailureLimiter.defaultCapacity))
            let took = ContinuousClock().measure {
                for key in measured {
                    _ = limiter.lockoutRemaining(for: key)
                    _ = limiter.recordFailure(for: key)
                }
            }
            Self.report("limiter", rotation: rotation, requests: requests, took: took)
        }
    }

    /// A whole failing request through the real router and middleware (wrong password,
    /// `X-Forwarded-For` naming the client), logging as in production.
    @Test func routerCostPerFailingRequest() async throws {
        let requests = 20_000
        for rotation in Self.rotations {
            var configuration = AppConfiguration(auth: .init(credentials: testCredentials), http: .init(port: 0))
            configuration.auth.failureLimit = 1_000_000
            configuration.auth.clientAddressHeader = "X-Forwarded-For"
            let logger = Logger(label: "bench") { JSONLogHandler(label: $0, logLevel: .info) { _ in } }
            try await withStore(.sqlite) { store in
                let app = buildApplication(configuration, store: store, logger: logger)
                try await app.test(.router) { client in
                    func fail(_ index: Int) async throws {
                        var headers = basicAuthorization("webhook_user", "wrong")
                        headers[.xForwardedFor] = Self.address(index % rotation)
                        let response = try await client.execute(uri: "/webhook/messages/QO-1", method: .get, headers: headers)
                        precondition(response.status == .unauthorized)
                    }
                    let filled = min(rotation, AuthFailureLimiter.defaultCapacity)
                    for index in 0..<filled { try await fail(index) }
                    let start = ContinuousClock.now
                    for index in filled..<(filled + requests) { try await fail(index) }
                    Self.report("router", rotation: rotation, requests: requests, took: .now - start)
                }
            }
        }
    }
}
