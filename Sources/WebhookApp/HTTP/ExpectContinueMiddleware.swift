import Foundation
import Hummingbird
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Meets `Expect: 100-continue` (RFC 9110, section 10.1.1): a client that sends it waits for
/// `100 Continue` before it sends the body (curl waits a second, then sends anyway).
///
/// `100 Continue` goes out when a route first reads the body, so a request that is refused
/// before its body (401, 413 by `Content-Length`, 429) gets its final answer at once instead,
/// with `Connection: close`, since the client may or may not send the body after it. Any
/// other expectation is answered `417`.
struct ExpectContinueMiddleware: RouterMiddleware {
    typealias Context = WebhookRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let expectation = request.headers[.expect] else { return try await next(request, context) }
        guard expectation.trimmingCharacters(in: .whitespaces).lowercased() == "100-continue" else {
            var response = try WebhookError.expectationFailed.response(from: request, context: context)
            response.headers[.connection] = "close"
            return response
        }
        let interim = ContinueResponse(channel: context.channel)
        var request = request
        request.body = RequestBody(asyncSequence: BodyAfterContinue(body: request.body, interim: interim))
        var response = try await next(request, context)
        if !interim.wasSent { response.headers[.connection] = "close" }
        return response
    }
}

/// The `100 Continue` interim response of one request, written at most once.
private final class ContinueResponse: Sendable {
    private let channel: any Channel
    private let sent = Atomic<Bool>(false)

    init(channel: any Channel) {
        self.channel = channel
    }

    var wasSent: Bool { sent.load(ordering: .acquiring) }

    /// Writes `100 Continue`, unless it was written already.
    func send() async throws {
        guard !sent.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try await channel.writeAndFlush(HTTPResponsePart.head(HTTPResponse(status: .continue)))
    }
}

/// A request body that asks for itself (`100 Continue`) when it is first read.
private struct BodyAfterContinue: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let body: RequestBody
    let interim: ContinueResponse

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let interim: ContinueResponse

        mutating func next() async throws -> ByteBuffer? {
            try await interim.send()
            return try await base.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: body.makeAsyncIterator(), interim: interim)
    }
}
