import HTTPTypes
import Hummingbird
import Logging
import NIOHTTP1

extension HTTPField.Name {
    /// `X-Forwarded-Host`: the host a client asked a proxy in front of the service for.
    static let forwardedHost = HTTPField.Name("X-Forwarded-Host")!
}

/// Refuses requests that a browser sends on behalf of a page of another origin.
///
/// A browser that has shown the console keeps its Basic credentials and attaches them to
/// every request to this host, whichever page makes it. A page of another site could then
/// open `/webhook/stream` (WebSockets are not bound by CORS) and read every message, or
/// submit a form that POSTs a forged message. Browsers name the page's origin in `Origin`
/// on those requests, and a page cannot forge or remove it; so a request whose `Origin` is
/// not this host's is refused. Qualia's deliveries and other servers' clients send no
/// `Origin`, and are let through as before; so are WebSocket libraries that send the URL
/// they connect to as a `ws://` or `wss://` origin (Hummingbird's client, our `send-test
/// --watch`), which no browser page ever has.
struct SameOriginPolicy: Sendable {
    /// Whether a request with these headers may go on: it names no origin, a WebSocket
    /// library's `ws:`/`wss:` one, or an origin whose host and port are the ones the request
    /// was sent to (`Host`, or `X-Forwarded-Host` set by a proxy in front; a page cannot set
    /// either on a cross-origin request).
    static func allows(origin: String?, host: String?, forwardedHost: String?) -> Bool {
        guard let origin else { return true }
        let lowered = origin.lowercased()
        if lowered.hasPrefix("ws://") || lowered.hasPrefix("wss://") { return true }
        guard let authority = Self.authority(ofOrigin: origin) else { return false }
        for candidate in [host, forwardedHost?.split(separator: ",").first.map(String.init)] {
            if let candidate, Self.normalized(candidate.trimmingASCIISpaces(), scheme: authority.scheme) == authority.hostAndPort {
                return true
            }
        }
        return false
    }

    /// The same check on a WebSocket upgrade's head.
    static func allows(_ head: HTTPRequestHead) -> Bool {
        allows(
            origin: head.headers.first(name: "Origin"), host: head.headers.first(name: "Host"),
            forwardedHost: head.headers.first(name: "X-Forwarded-Host")
        )
    }

    /// The same check on a request (its `Host` is the head's authority).
    static func allows(_ request: HTTPRequest) -> Bool {
        allows(origin: request.headerFields[.origin], host: request.authority, forwardedHost: request.headerFields[.forwardedHost])
    }

    /// `scheme://host[:port]` split into its scheme and its lowercased `host[:port]` without
    /// the scheme's default port; `nil` for anything else (`null`, a path, user information).
    static func authority(ofOrigin origin: String) -> (scheme: String, hostAndPort: String)? {
        let parts = origin.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let scheme = parts[0].lowercased()
        guard ["http", "https"].contains(scheme), !parts[1].isEmpty,
            !parts[1].contains(where: { $0 == "/" || $0 == "@" || $0 == "?" || $0 == "#" || $0 == " " })
        else { return nil }
        return (scheme, normalized(String(parts[1]), scheme: scheme))
    }

    /// `host[:port]` lowercased, without the scheme's default port.
    private static func normalized(_ hostAndPort: String, scheme: String) -> String {
        let lowered = hostAndPort.lowercased()
        let defaultPort = scheme == "https" ? ":443" : ":80"
        return lowered.hasSuffix(defaultPort) ? String(lowered.dropLast(defaultPort.count)) : lowered
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs (a header value's padding).
    fileprivate func trimmingASCIISpaces() -> String {
        var view = Substring(self)
        while view.first == " " || view.first == "\t" { view = view.dropFirst() }
        while view.last == " " || view.last == "\t" { view = view.dropLast() }
        return String(view)
    }
}

/// Answers `403 cross_origin` to every request that ``SameOriginPolicy`` refuses, before
/// its credentials are checked (so a refused page cannot lock a user out either).
struct SameOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard SameOriginPolicy.allows(request.head) else {
            context.logger.notice("Cross-origin request refused", metadata: ["origin": .string(String(request.headers[.origin]?.prefix(200) ?? ""))])
            throw WebhookError.crossOrigin
        }
        return try await next(request, context)
    }
}

extension WebhookError {
    /// 403: a browser sent this request for a page of another origin.
    static let crossOrigin = WebhookError(
        status: .forbidden, code: "cross_origin",
        message: "Requests from pages of another origin are refused; open the console from this service's own address."
    )
}
