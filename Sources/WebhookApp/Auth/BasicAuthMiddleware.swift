import Foundation
import Hummingbird
import Logging

/// Lets a request through only with valid HTTP Basic credentials; answers 401 otherwise.
///
/// Failed attempts are logged with the reason, never with the password or header.
struct BasicAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let verifier: CredentialVerifier

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch Self.credentials(in: request) {
        case .success(let (username, password)) where verifier.verify(username: username, password: password):
            return try await next(request, context)
        case .success:
            context.logger.notice("Authentication failed", metadata: ["reason": "wrong credentials"])
        case .failure(let reason):
            context.logger.notice("Authentication failed", metadata: ["reason": .string(reason.rawValue)])
        }
        throw WebhookError.unauthorized
    }

    enum MissingCredentials: String, Error {
        case missing = "no Authorization header"
        case notBasic = "Authorization is not Basic"
        case malformed = "malformed Basic credentials"
    }

    /// The raw user name and password bytes from an `Authorization: Basic …` header.
    static func credentials(in request: Request) -> Result<([UInt8], [UInt8]), MissingCredentials> {
        guard let header = request.headers[.authorization] else { return .failure(.missing) }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic" else { return .failure(.notBasic) }
        guard let decoded = Data(base64Encoded: parts[1].trimmingCharacters(in: .whitespaces)),
            let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
        else { return .failure(.malformed) }
        return .success((Array(decoded[..<colon]), Array(decoded[decoded.index(after: colon)...])))
    }
}
