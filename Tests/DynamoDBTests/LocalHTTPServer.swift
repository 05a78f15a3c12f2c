import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization

/// A real HTTP server on a loopback port that answers with scripted responses and keeps
/// what it received: a stand-in for the DynamoDB, container-credentials and instance-
/// metadata endpoints, which do not run here.
final class LocalHTTPServer: Sendable {
    /// One request as the server saw it.
    struct Received: Sendable {
        var method: HTTPRequest.Method
        var path: String
        var headers: HTTPFields
        var body: String
    }

    /// Decides the answer to each request.
    typealias Responder = @Sendable (Received) -> (status: HTTPResponse.Status, body: String)

    private let responder: Responder
    private let log = Mutex<[Received]>([])

    init(_ responder: @escaping Responder) {
        self.responder = responder
    }

    /// Answers from a fixed list in order, repeating the last answer when the list runs out.
    convenience init(script: [(status: HTTPResponse.Status, body: String)]) {
        let remaining = Mutex(script)
        self.init { _ in
            remaining.withLock { list in list.count > 1 ? list.removeFirst() : list[0] }
        }
    }

    var received: [Received] { log.withLock { $0 } }

    /// Runs the server for the duration of `body`, passing its base URL (`http://127.0.0.1:PORT`).
    func run(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { [self] request, _ in
            var request = request
            let bytes = try await request.collectBody(upTo: 1 << 20)
            let received = Received(method: request.method, path: request.uri.string, headers: request.headers, body: String(buffer: bytes))
            log.withLock { $0.append(received) }
            let answer = responder(received)
            return Response(status: answer.status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        for method in [HTTPRequest.Method.get, .put, .post] {
            router.on("**", method: method, use: handler)
            router.on("/", method: method, use: handler)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)")
        }
    }
}
