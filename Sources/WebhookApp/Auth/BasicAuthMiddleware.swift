import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Lets a request through only with valid HTTP Basic credentials; answers 401 otherwise,
/// and 429 while the failures of its client address and presented user name are locked out
/// (see ``AuthFailureLimiter`` for which failures lock what).
///
/// Failed attempts are logged with the reason, the client address and whether the user name
/// is a configured one, never with the user name, the password or the header.
struct BasicAuthMiddleware: RouterMiddleware {
    typealias Context = WebhookRequestContext

    let verifier: CredentialVerifier
    let limiter: AuthFailureLimiter
    /// A header naming the client when a proxy or load balancer stands in front
    /// (`X-Forwarded-For`: its last address, the one the proxy added); `nil` for the peer.
    let clientAddressHeader: HTTPField.Name?
    /// Said once when `clientAddressHeader` is `nil` but requests come through a proxy.
    let unnamedProxyWarning = UnnamedProxyWarning()
    /// Failures, lockouts and refusals during lockouts, counted.
    let metrics: AuthMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let address = clientAddress(of: request.headers, remoteAddress: context.remoteAddress)
        if clientAddressHeader == nil {
            unnamedProxyWarning.check(request.headers, peerAddress: address, logger: context.logger)
        }
        let verdict: CredentialVerifier.Verdict
        let reason: String
        // A request without `Authorization` guessed nothing: it is how a browser asks for the
        // prompt (the console's first request), so it is answered 401 but never counted.
        var guessed = true
        let failure: AuthMetrics.FailureReason
        switch Self.credentials(in: request.headers) {
        case .success(let (username, password)):
            verdict = verifier.check(username: username, password: password)
            reason = verdict.username == nil ? "unknown user name" : "wrong password"
            failure = verdict.username == nil ? .unknownUser : .wrongPassword
        case .failure(let missing):
            verdict = .unknownUsername
            reason = missing.rawValue
            guessed = missing != .missing
            failure = .missing
        }
        let key = AuthFailureLimiter.Key(address: address, username: verdict.username)
        let user: Logger.MetadataValue = verdict.username == nil ? "unknown" : "configured"
        if let remaining = limiter.lockoutRemaining(for: key) {
            context.logger.notice("Authentication refused during lockout", metadata: ["client_address": .string(address), "user": user])
            metrics.recordRefusalDuringLockout()
            throw WebhookError.tooManyFailedAttempts(retryAfterSeconds: Int(remaining.components.seconds) + 1)
        }
        if case .accepted(let username) = verdict {
            limiter.recordSuccess(for: key)
            var context = context
            context.role = username.role
            return try await next(request, context)
        }
        context.logger.notice(
            "Authentication failed",
            metadata: ["reason": .string(reason), "client_address": .string(address), "user": user]
        )
        metrics.recordFailure(failure)
        if guessed, limiter.recordFailure(for: key) {
            metrics.recordLockout()
            context.logger.warning(
                "Client locked out after repeated authentication failures",
                metadata: [
                    "client_address": .string(address), "user": user, "failures": .stringConvertible(limiter.policy.limit),
                    "lockout_seconds": .stringConvertible(limiter.policy.lockout.components.seconds),
                ]
            )
        }
        throw WebhookError.unauthorized
    }

    /// Whether the request carries credentials that this middleware would let through now:
    /// valid, and not locked out. Records nothing, so a request that it admits or not can go
    /// on to this middleware proper (which counts failures) without counting twice.
    func admits(_ headers: HTTPFields, remoteAddress: String?) -> Bool {
        guard case .success(let (username, password)) = Self.credentials(in: headers),
            case .accepted(let configured) = verifier.check(username: username, password: password)
        else { return false }
        let key = AuthFailureLimiter.Key(address: clientAddress(of: headers, remoteAddress: remoteAddress), username: configured)
        return limiter.lockoutRemaining(for: key) == nil
    }

    private func clientAddress(of headers: HTTPFields, remoteAddress: String?) -> String {
        if let clientAddressHeader, let forwarded = headers[clientAddressHeader],
            let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty
        {
            return String(last.prefix(64))
        }
        return remoteAddress ?? "unknown"
    }

    /// Why a request has no usable Basic credentials; all count as an unknown user name.
    enum MissingCredentials: String, Error {
        case missing = "no Authorization header"
        case notBasic = "Authorization is not Basic"
        case malformed = "malformed Basic credentials"
    }

    /// The raw user name and password bytes from an `Authorization: Basic …` header.
    static func credentials(in headers: HTTPFields) -> Result<([UInt8], [UInt8]), MissingCredentials> {
        guard let header = headers[.authorization] else { return .failure(.missing) }
        // Byte by byte: Foundation's trimming and case mapping cost more than the rest of a
        // cached listing on Linux.
        let isBlank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        var bytes = Substring(header).utf8.drop(while: isBlank)
        let scheme = bytes.prefix(while: { !isBlank($0) })
        guard scheme.count == 5, zip(scheme, "basic".utf8).allSatisfy({ $0 | 0x20 == $1 }) else { return .failure(.notBasic) }
        bytes = bytes.dropFirst(5).drop(while: isBlank)
        while let last = bytes.last, isBlank(last) { bytes = bytes.dropLast() }
        guard !bytes.isEmpty, let decoded = Data(base64Encoded: Data(bytes)), let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
        else { return .failure(.malformed) }
        return .success((Array(decoded[..<colon]), Array(decoded[decoded.index(after: colon)...])))
    }
}
