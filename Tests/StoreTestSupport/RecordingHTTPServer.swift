import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A real HTTP server on a loopback port whose answers are wholly the script's, headers
/// included, and which keeps every request it received, headers and body.
///
/// For the answers an AWS client must check or learn from: a `Date` of another clock (a
/// Hummingbird server sets `Date` itself), an `x-amz-crc32` that does not match the body, a
/// token refused as expired.
public final class RecordingHTTPServer: Sendable {
    /// One request as the server saw it.
    public struct Request: Sendable {
        /// Its headers.
        public var headers: HTTPHeaders
        /// Its body.
        public var body: [UInt8]

        /// The first value of header `name` (any case), or `nil`.
        public func header(_ name: String) -> String? { headers.first(name: name) }
    }

    /// The answer to one request, exactly as it is sent.
    public struct Answer: Sendable {
        /// The HTTP status.
        public var status: Int
        /// The headers; `content-length` is added when absent.
        public var headers: [(name: String, value: String)]
        /// The body.
        public var body: [UInt8]

        /// Creates an answer.
        public init(status: Int, headers: [(name: String, value: String)] = [], body: String) {
            self.status = status
            self.headers = headers
            self.body = Array(body.utf8)
        }
    }

    /// Decides the answer to each request, from the request and how many came before it.
    public typealias Responder = @Sendable (_ request: Request, _ index: Int) -> Answer

    private let responder: Responder
    private let log = Mutex<[Request]>([])
    private let channels = Mutex<[any Channel]>([])

    private init(responder: @escaping Responder) {
        self.responder = responder
    }

    /// Every request received so far, in order.
    public var received: [Request] { log.withLock { $0 } }

    /// Runs a server for the duration of `body`, passing its URL (`http://127.0.0.1:PORT`),
    /// then closes it and every connection it holds.
    public static func run<T: Sendable>(
        _ responder: @escaping Responder, _ body: (RecordingHTTPServer, String) async throws -> T
    ) async throws -> T {
        let server = RecordingHTTPServer(responder: responder)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                server.channels.withLock { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false)
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        server.channels.withLock { $0.append(channel) }
        let port = channel.localAddress?.port ?? 0
        do {
            let result = try await body(server, "http://127.0.0.1:\(port)")
            await server.close()
            return result
        } catch {
            await server.close()
            throw error
        }
    }

    private func close() async {
        for channel in channels.withLock({ $0 }) { try? await channel.close() }
    }

    fileprivate func answer(_ request: Request) -> Answer {
        let index = log.withLock { log in
            log.append(request)
            return log.count - 1
        }
        return responder(request, index)
    }

    /// Reads requests on one connection and writes the script's answers.
    private final class RequestHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let server: RecordingHTTPServer
        private var headers = HTTPHeaders()
        private var body: [UInt8] = []

        init(server: RecordingHTTPServer) {
            self.server = server
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                headers = head.headers
                body = []
            case .body(let buffer):
                body += buffer.readableBytesView
            case .end:
                let answer = server.answer(Request(headers: headers, body: body))
                var headers = HTTPHeaders(answer.headers.map { ($0.name, $0.value) })
                if !headers.contains(name: "content-length") { headers.add(name: "content-length", value: String(answer.body.count)) }
                let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: answer.status), headers: headers)
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: answer.body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
