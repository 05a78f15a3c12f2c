import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The two STS calls the credential providers make, in STS's query protocol (a form
/// `POST`, an XML answer):
///
/// - `AssumeRole`, signed with SigV4 (service `sts`) with the source credentials;
/// - `AssumeRoleWithWebIdentity`, unsigned: the web identity token is the proof.
///
/// No retries: the cache in front of the chain asks again on the next request, and a
/// refused role (`AccessDenied`) would be refused again. A call made inside a request never
/// outlives that request's ``Deadline``.
public struct STSClient: Sendable {
    /// The region whose endpoint is called and whose name the signature carries.
    public let region: String
    /// The endpoint's URL (see ``STSEndpoint``).
    public let endpoint: String
    private let httpClient: HTTPClient
    private let timeout: TimeAmount

    /// Creates a client.
    /// - Parameters:
    ///   - region: The region (``AWSRegion/resolve(environment:)``'s).
    ///   - environment: The variables that may move the endpoint: `AWS_ENDPOINT_URL_STS`, then
    ///     `AWS_ENDPOINT_URL`.
    ///   - httpClient: A shared pool.
    ///   - timeout: How long one call may take when no deadline is earlier.
    public init(region: String, environment: [String: String], httpClient: HTTPClient, timeout: TimeAmount = .seconds(10)) {
        self.region = region
        self.endpoint = STSEndpoint.url(region: region, environment: environment)
        self.httpClient = httpClient
        self.timeout = timeout
    }

    /// The parameters of `AssumeRole` that profiles set.
    public struct AssumeRoleParameters: Sendable, Hashable {
        /// `RoleArn`.
        public var roleARN: String
        /// `RoleSessionName`.
        public var sessionName: String
        /// `ExternalId`, when the role's trust policy asks for one.
        public var externalID: String?
        /// `DurationSeconds`; `nil` for STS's default (one hour).
        public var durationSeconds: Int?

        /// Creates parameters.
        public init(roleARN: String, sessionName: String, externalID: String? = nil, durationSeconds: Int? = nil) {
            self.roleARN = roleARN
            self.sessionName = sessionName
            self.externalID = externalID
            self.durationSeconds = durationSeconds
        }
    }

    /// `AssumeRole`, signed with `source`.
    /// - Throws: ``CredentialError`` (a configured source's failure) naming STS's error code.
    public func assumeRole(_ parameters: AssumeRoleParameters, with source: AWSCredentials) async throws -> AWSCredentials {
        var form = [("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", parameters.roleARN), ("RoleSessionName", parameters.sessionName)]
        if let externalID = parameters.externalID { form.append(("ExternalId", externalID)) }
        if let duration = parameters.durationSeconds { form.append(("DurationSeconds", String(duration))) }
        return try await call("AssumeRole", form: form, signingWith: source)
    }

    /// `AssumeRoleWithWebIdentity`, unsigned.
    /// - Throws: ``CredentialError`` (a configured source's failure) naming STS's error code;
    ///   never the token.
    public func assumeRoleWithWebIdentity(roleARN: String, sessionName: String, token: String) async throws -> AWSCredentials {
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleARN), ("RoleSessionName", sessionName),
            ("WebIdentityToken", token),
        ]
        return try await call("AssumeRoleWithWebIdentity", form: form, signingWith: nil)
    }

    private func call(_ action: String, form: [(String, String)], signingWith source: AWSCredentials?) async throws -> AWSCredentials {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { throw CredentialError.configuredSourceFailed("the STS endpoint is not an http or https URL") }
        let body = Array(form.map { SigV4Signer.uriEncode($0.0) + "=" + SigV4Signer.uriEncode($0.1) }.joined(separator: "&").utf8)
        var headers = [(name: "host", value: url.port.map { "\(host):\($0)" } ?? host), (name: "content-type", value: "application/x-www-form-urlencoded; charset=utf-8")]
        if let source {
            let signer = SigV4Signer(credentials: source, region: region, service: "sts")
            let path = url.path.isEmpty ? "/" : url.path
            headers += signer.signingHeaders(for: .init(method: "POST", path: path, headers: headers, body: body, pathEncoding: .encodedTwice), date: Date())
        }
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))

        var timeout = self.timeout
        if let deadline = Deadline.current {
            let remaining = deadline.remaining
            guard remaining > .zero else { throw CredentialError.configuredSourceFailed("STS \(action) not sent: the request's deadline has passed") }
            timeout = min(timeout, TimeAmount(remaining))
        }
        let status: HTTPResponseStatus
        let answer: [UInt8]
        do {
            let response = try await httpClient.execute(request, deadline: .now() + timeout)
            status = response.status
            answer = Array(buffer: try await response.body.collect(upTo: STSXMLReader.maximumBytes + 1))
        } catch {
            throw CredentialError.configuredSourceFailed("STS \(action) at \(STSEndpoint.withoutSecrets(endpoint)) failed: \(error)")
        }
        guard status == .ok else {
            if let error = STSAnswer.error(from: answer) {
                throw CredentialError.configuredSourceFailed("STS \(action) answered \(status.code) \(error.code): \(error.message)")
            }
            throw CredentialError.configuredSourceFailed("STS \(action) answered \(status.code)")
        }
        do {
            return try STSAnswer.credentials(from: answer, action: action)
        } catch {
            throw CredentialError.configuredSourceFailed("STS \(action) answered 200 with \(error)")
        }
    }
}
