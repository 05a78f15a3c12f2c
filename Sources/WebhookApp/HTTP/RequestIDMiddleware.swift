import HTTPTypes
import Hummingbird
import Logging

extension HTTPField.Name {
    /// `X-Request-ID`: names a request in the client's logs and ours.
    static let requestID = HTTPField.Name("X-Request-ID")!
}

/// Gives every request an id: the caller's `X-Request-ID` when it is a sensible token,
/// otherwise a new random one. The id is echoed in the response's `X-Request-ID` and
/// attached to every log line of the request.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let requestID = request.headers[.requestID].flatMap(Self.acceptable) ?? Self.newRequestID()
        var context = context
        context.logger[metadataKey: "hb.request.id"] = .string(requestID)
        var response = try await next(request, context)
        response.headers[.requestID] = requestID
        return response
    }

    /// The caller's id, when it is 1 to 128 visible ASCII characters without quotes or
    /// backslashes (so it cannot forge log lines or headers).
    static func acceptable(_ candidate: String) -> String? {
        let bytes = candidate.utf8
        guard (1...128).contains(bytes.count),
            bytes.allSatisfy({ (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else { return nil }
        return candidate
    }

    /// 16 random hexadecimal digits.
    static func newRequestID() -> String {
        let hex = String(UInt64.random(in: .min ... .max), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
