import AsyncHTTPClient
import AWSSigning
import CoreMetrics
import Foundation
import Logging
import NIOCore
import NIOHTTP1

extension DynamoDBClient {
    /// Sends one operation, retrying as the retry policy allows, all of it before one deadline.
    /// An answer whose body does not match its `x-amz-crc32` is retried like a 5xx.
    ///
    /// The deadline is the earlier of ``Deadline/current`` (the caller's, when it set one with
    /// ``Deadline/run(isolation:_:)``) and `maxTotalDuration` from now. Every attempt's HTTP deadline is
    /// the earlier of `requestTimeout` from its start and that deadline; a retry whose backoff
    /// would end after it is not started (the last attempt's error is thrown instead); the
    /// credential fetch runs under it too (``HTTPCredentialClient`` reads ``Deadline/current``).
    /// So the call returns or throws by the deadline, plus the time to notice.
    ///
    /// Two answers are fixed by changing the request rather than by waiting, each at most once
    /// per call, at once and beside the retry policy's attempts (see ``CallCorrections``): a
    /// clock-skew error whose `Date` shows this machine's clock off (the request is signed
    /// again with the server's time, and so is every later one), and an expired token (the
    /// credentials are fetched anew, whatever their expiry said). A second such answer is thrown.
    func send<Output: OperationOutput>(_ operation: String, _ input: some OperationInput) async throws -> Output {
        try await send(operation, body: input.jsonBody) { try Output.decode($0) }
    }

    private func send<Output>(
        _ operation: String, body: [UInt8], decode: (ByteBufferView) throws -> Output
    ) async throws -> Output {
        let policy = configuration.retryPolicy
        let deadline = Deadline.after(policy.maxTotalDuration).effective
        return try await deadline.run { () async throws -> Output in
            var attempt = 1
            var corrections = CallCorrections()
            var rejected: AWSCredentials?
            while true {
                let credentials = try await signingCredentials(for: operation, deadline: deadline, replacing: rejected)
                rejected = nil
                let signedAt = signingClock.now()
                do {
                    return try await sendOnce(operation, body: body, credentials: credentials, signedAt: signedAt, deadline: deadline, decode: decode)
                } catch let error as DynamoDBError {
                    if error.isThrottling {
                        Counter(label: Self.throttlesMetric, dimensions: [("operation", operation)], factory: configuration.metricsFactory).increment()
                    }
                    if corrections.mayCorrectClock, error.mayBeClockSkew, let serverDate = error.serverDate,
                        let offset = signingClock.correct(serverDate: serverDate, signedAt: signedAt)
                    {
                        corrections.mayCorrectClock = false
                        countRetry(operation, reason: "clock_skew")
                        logger.warning(
                            "DynamoDB refused the request's time: signing with the server's clock from now on",
                            metadata: [
                                "operation": .string(operation), "error": .string(error.code),
                                "skew_seconds": .stringConvertible(Int(offset.rounded())),
                            ]
                        )
                        continue
                    }
                    if corrections.mayRefreshCredentials, error.isExpiredCredentials {
                        corrections.mayRefreshCredentials = false
                        rejected = credentials
                        countRetry(operation, reason: "expired_credentials")
                        logger.notice(
                            "DynamoDB refused the credentials as expired: fetching new ones",
                            metadata: ["operation": .string(operation), "error": .string(error.code)]
                        )
                        continue
                    }
                    guard error.isRetryable && !error.isDeadlineExceeded && attempt < policy.maxAttempts else { throw error }
                    let delay = policy.delay(beforeRetry: attempt)
                    guard ContinuousClock.now + delay < deadline.instant else { throw error }
                    countRetry(operation, reason: Self.retryReason(error))
                    logger.debug(
                        "Retrying DynamoDB request",
                        metadata: ["operation": .string(operation), "attempt": .stringConvertible(attempt), "error": .string(error.description)]
                    )
                    try await Task.sleep(for: delay)
                    attempt += 1
                }
            }
        }
    }

    /// Counts one retry (made when needed: the factory finds the same series again, and retries are rare).
    private func countRetry(_ operation: String, reason: String) {
        Counter(label: Self.retriesMetric, dimensions: [("operation", operation), ("reason", reason)], factory: configuration.metricsFactory)
            .increment()
    }

    /// Retries started, by operation and reason: ``retryReason(_:)``, or `clock_skew` and
    /// `expired_credentials` for the corrections (a counter).
    public static let retriesMetric = "qualia_webhook_dynamodb_retries_total"
    /// Answers refused for going too fast, by operation, retried or not (a counter).
    public static let throttlesMetric = "qualia_webhook_dynamodb_throttles_total"

    /// Why a retryable failure is retried, as a label: `throttling`, `server_error` (a 5xx),
    /// `connection`, `checksum` (an answer that does not match its `x-amz-crc32`), or
    /// `transaction_conflict` (a transaction cancelled by another in flight).
    static func retryReason(_ error: DynamoDBError) -> String {
        if error.kind == .connection { return "connection" }
        if error.isChecksumMismatch { return "checksum" }
        if error.isThrottling { return "throttling" }
        if (error.statusCode ?? 0) >= 500 { return "server_error" }
        return "transaction_conflict"
    }

    /// The failures AsyncHTTPClient reports when time runs out rather than the connection.
    private static let timeouts: [HTTPClientError] = [.deadlineExceeded, .readTimeout, .connectTimeout, .getConnectionFromPoolTimeout]

    /// The credentials to sign the next attempt with: anew from the source when `rejected`
    /// (refused as expired), else as the provider has them.
    private func signingCredentials(for operation: String, deadline: Deadline, replacing rejected: AWSCredentials?) async throws -> AWSCredentials {
        guard !deadline.hasPassed else { throw DynamoDBError.deadlineExceeded(operation) }
        do {
            if let rejected { return try await credentialProvider.refreshedCredentials(replacing: rejected) }
            return try await credentialProvider.credentials()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // A fetch cut short by the deadline says so, rather than "no credentials".
            if deadline.hasPassed { throw DynamoDBError.deadlineExceeded(operation, after: error) }
            throw DynamoDBError(kind: .credentials, code: "CredentialsUnavailable", message: String(describing: error))
        }
    }

    /// One attempt, signed with `credentials` at `signedAt`, ending by `deadline` at the latest.
    private func sendOnce<Output>(
        _ operation: String, body: [UInt8], credentials: AWSCredentials, signedAt: Date, deadline: Deadline,
        decode: (ByteBufferView) throws -> Output
    ) async throws -> Output {
        let remaining = deadline.remaining
        guard remaining > .zero else { throw DynamoDBError.deadlineExceeded(operation) }
        let headers: [(name: String, value: String)] = [
            ("host", hostHeader),
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.\(operation)"),
        ]
        let signer = SigV4Signer(credentials: credentials, region: configuration.region, service: "dynamodb", keyCache: keyCache)
        let signing = signer.signingHeaders(for: .init(method: "POST", path: "/", headers: headers, body: body), date: signedAt)

        var request = HTTPClientRequest(url: endpointURL)
        request.method = .POST
        for (name, value) in headers + signing { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))

        let status: Int
        let responseHeaders: HTTPHeaders
        let responseBody: ByteBuffer
        do {
            // AsyncHTTPClient's deadline covers waiting for a connection, the answer and its body.
            let timeout = min(configuration.requestTimeout, TimeAmount(remaining))
            let response = try await httpClient.execute(request, deadline: .now() + timeout)
            status = Int(response.status.code)
            responseHeaders = response.headers
            responseBody = try await response.body.collect(upTo: 32 * 1024 * 1024)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .alreadyShutdown {
            throw DynamoDBError(kind: .clientShutDown, code: "ClientShutDown", message: "the DynamoDB client is shut down")
        } catch {
            // A timeout at the deadline is the deadline's doing; a refused or reset connection
            // (which AsyncHTTPClient retries until the deadline) keeps its own name for the log.
            if deadline.hasPassed, let error = error as? HTTPClientError, Self.timeouts.contains(error) {
                throw DynamoDBError.deadlineExceeded(operation, after: error)
            }
            throw DynamoDBError(kind: .connection, code: "ConnectionFailed", message: String(describing: error))
        }
        // Error answers are checked too: a damaged one could read as another error, or none.
        guard ResponseChecksum.matches(headerValue: responseHeaders.first(name: ResponseChecksum.headerName), body: responseBody.readableBytesView)
        else { throw DynamoDBError.checksumMismatch(operation, statusCode: status) }
        guard status == 200 else {
            throw DynamoDBError.fromResponse(
                status: status, body: Array(responseBody.readableBytesView), serverDate: responseHeaders.first(name: "date").flatMap(HTTPDate.parse)
            )
        }
        do {
            return try decode(responseBody.readableBytesView)
        } catch {
            throw DynamoDBError(kind: .invalidResponse, code: "InvalidResponse", message: "\(operation) answered an unreadable body: \(error)")
        }
    }
}
