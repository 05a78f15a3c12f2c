import AWSSigning
import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A request body that can be produced again for each attempt.
enum S3RequestBody: Sendable {
    /// No body.
    case empty
    /// Bytes in memory (XML documents).
    case bytes([UInt8])
    /// A stretch of an open file, streamed.
    case file(FileSlice)

    /// The body's length in bytes.
    var length: Int64 {
        switch self {
        case .empty: 0
        case .bytes(let bytes): Int64(bytes.count)
        case .file(let slice): slice.length
        }
    }

    /// A fresh body for one attempt.
    func httpBody() -> HTTPClientRequest.Body? {
        switch self {
        case .empty: nil
        case .bytes(let bytes): .bytes(bytes)
        case .file(let slice): .stream(slice.chunks, length: .known(slice.length))
        }
    }
}

/// The payload hash S3 is told (`x-amz-content-sha256`) when the body is not signed.
let unsignedPayload = "UNSIGNED-PAYLOAD"

extension S3Client {
    /// The hex SHA-256 of bytes in memory.
    static func sha256Hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Sends a signed request, retrying 5xx, `SlowDown` and connection failures with backoff,
    /// and returns the first 2xx answer (its body not yet read).
    /// - Parameters:
    ///   - payloadHash: The body's hex SHA-256, or ``unsignedPayload``; `nil` hashes a body in
    ///     memory (a file's body is then sent unsigned).
    ///   - allowedStatuses: Other statuses returned rather than thrown (HEAD's 404).
    /// - Throws: ``S3Error`` with S3's code and message for any other answer, or
    ///   `ConnectionFailed` when the last attempt got none.
    func send(
        _ method: HTTPMethod, bucket: String, key: String?, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], body: S3RequestBody = .empty, payloadHash: String? = nil,
        allowedStatuses: Set<Int> = []
    ) async throws -> HTTPClientResponse {
        let target = addressing.target(bucket: bucket, key: key, query: query)
        let payloadHash = payloadHash ?? {
            switch body {
            case .empty: Self.sha256Hex([])
            case .bytes(let bytes): Self.sha256Hex(bytes)
            case .file: unsignedPayload  // every caller gives a file's hash; never a wrong one
            }
        }()
        var attempt = 1
        while true {
            let failure: S3Error
            do {
                let response = try await attemptOnce(method, target: target, query: query, headers: headers, body: body, payloadHash: payloadHash)
                let status = Int(response.status.code)
                if (200..<300).contains(status) || allowedStatuses.contains(status) { return response }
                failure = try await Self.error(from: response, isHead: method == .HEAD)
            } catch let error as S3Error {
                throw error  // the file could not be read: trying again reads it again, no better
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                failure = S3Error(status: 0, code: "ConnectionFailed", message: "\(error)")
            }
            guard failure.isRetryable, attempt < configuration.maxAttempts else { throw failure }
            let delay = configuration.delay(beforeRetry: attempt)
            logger.debug(
                "S3 request failed; retrying",
                metadata: [
                    "s3_method": .string(method.rawValue), "s3_bucket": .string(bucket), "s3_status": .stringConvertible(failure.status),
                    "s3_code": .string(failure.code), "attempt": .stringConvertible(attempt), "retry_delay": .stringConvertible(delay),
                ]
            )
            try await Task.sleep(for: delay)
            attempt += 1
        }
    }

    /// One signed attempt.
    private func attemptOnce(
        _ method: HTTPMethod, target: S3Addressing.Target, query: [(name: String, value: String)], headers: [(name: String, value: String)],
        body: S3RequestBody, payloadHash: String
    ) async throws -> HTTPClientResponse {
        let credentials: AWSCredentials
        do {
            credentials = try await credentialProvider.credentials()
        } catch let error as CredentialError {
            throw S3Error(status: 0, code: "CredentialsUnavailable", message: error.description)
        }
        var signed = [(name: "host", value: target.host)] + headers
        let signer = SigV4Signer(credentials: credentials, region: configuration.region, service: "s3", keyCache: keyCache)
        let signingRequest = SigV4Signer.Request(
            method: method.rawValue, path: target.path, query: query, headers: signed, contentSHA256: payloadHash, pathEncoding: .encodedOnce
        )
        signed += signer.signingHeaders(for: signingRequest, date: Date())
        var request = HTTPClientRequest(url: target.url)
        request.method = method
        for (name, value) in signed { request.headers.add(name: name, value: value) }
        request.body = body.httpBody()
        if request.body == nil, method == .PUT || method == .POST { request.body = .bytes(ByteBuffer()) }  // says `Content-Length: 0`
        return try await httpClient.execute(request, deadline: .distantFuture, logger: logger)
    }

    /// The error an answer other than 2xx stands for, from S3's XML `Error` document when it
    /// sent one (HEAD answers carry no body).
    static func error(from response: HTTPClientResponse, isHead: Bool) async throws -> S3Error {
        let status = Int(response.status.code)
        var code = status == 404 ? S3Error.notFoundCode : "HTTP\(status)"
        var message = response.status.reasonPhrase
        if !isHead {
            let body = try await response.body.collect(upTo: 64 * 1024)
            if let values = S3XML.values(["Code", "Message"], inRoot: "Error", of: Array(buffer: body)) {
                code = values["Code"] ?? code
                message = values["Message"] ?? message
            }
        }
        return S3Error(status: status, code: code, message: message)
    }
}
