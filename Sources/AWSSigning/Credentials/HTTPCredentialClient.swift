import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The small HTTP client the container and instance-metadata providers use: short
/// timeouts, because on a machine without those services the addresses do not answer.
///
/// A fetch made inside a request never outlives that request's ``Deadline`` (the task-local
/// ``Deadline/current``, which the DynamoDB client sets around its credential lookups): its
/// timeout is the earlier of `timeout` and the deadline, and once the deadline has passed it
/// fails without sending.
public struct HTTPCredentialClient: Sendable {
    /// The shared pool, which the STS client uses too.
    let httpClient: HTTPClient
    private let timeout: TimeAmount

    /// Creates a client over a shared `HTTPClient`.
    public init(httpClient: HTTPClient, timeout: TimeAmount = .seconds(2)) {
        self.httpClient = httpClient
        self.timeout = timeout
    }

    /// Sends a request and returns the body of a 200 answer.
    /// - Throws: ``CredentialError`` for any other answer or a failed connection.
    func fetch(_ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = []) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        var timeout = self.timeout
        if let deadline = Deadline.current {
            let remaining = deadline.remaining
            guard remaining > .zero else { throw CredentialError("\(method.rawValue) \(url) not sent: the request's deadline has passed") }
            timeout = min(timeout, TimeAmount(remaining))
        }
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, deadline: .now() + timeout)
        } catch {
            throw CredentialError("\(method.rawValue) \(url) failed: \(error)")
        }
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: 1024 * 1024)
        } catch {
            throw CredentialError("\(method.rawValue) \(url) failed: \(error)")
        }
        guard response.status == .ok else {
            throw CredentialError("\(method.rawValue) \(url) answered \(response.status.code)")
        }
        return String(buffer: body)
    }
}

/// The JSON that container and instance-metadata endpoints answer with.
struct TemporaryCredentialsDocument: Decodable {
    var accessKeyID: String
    var secretAccessKey: String
    var token: String?
    var expiration: String?

    enum CodingKeys: String, CodingKey {
        case accessKeyID = "AccessKeyId"
        case secretAccessKey = "SecretAccessKey"
        case token = "Token"
        case expiration = "Expiration"
    }

    static func parse(_ body: String, source: String) throws -> AWSCredentials {
        guard let document = try? JSONDecoder().decode(TemporaryCredentialsDocument.self, from: Data(body.utf8)) else {
            throw CredentialError("\(source) answered something that is not a credentials document")
        }
        var expiration: Date?
        if let text = document.expiration {
            guard let date = try? Date(text, strategy: .iso8601) else {
                throw CredentialError("\(source) answered an unreadable Expiration")
            }
            expiration = date
        }
        return AWSCredentials(
            accessKeyID: document.accessKeyID, secretAccessKey: document.secretAccessKey, sessionToken: document.token,
            expiration: expiration
        )
    }
}
