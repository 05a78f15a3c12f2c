import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A real TCP server on a loopback port that plays a misbehaving DynamoDB: it accepts every
/// connection and reads every request, then answers as a script says, after a delay or never.
///
/// Outages are tested against it over real sockets: an endpoint that never answers, one that
/// answers slowly and then hangs, one that fails a condition and then hangs.
public final class ScriptedDynamoDBEndpoint: Sendable {
    /// What the endpoint does with one request.
    public enum Reply: Sendable {
        /// Answers `status` with `body` (DynamoDB's JSON) once `delay` has passed.
        case answer(status: Int, body: String, after: Duration = .zero)
        /// Keeps the connection open and never answers.
        case hang
    }

    /// One request as the endpoint saw it.
    public struct Received: Sendable, Hashable {
        /// The operation, from `X-Amz-Target` without its `DynamoDB_20120810.` prefix.
        public var operation: String
        /// How many requests for the same operation came before this one.
        public var index: Int
    }

    /// Decides the reply to each request, from its operation and its index among that operation's requests.
    public typealias Script = @Sendable (Received) -> Reply

    private let script: Script
    private let log = Mutex<[Received]>([])
    private let channels = Mutex<[any Channel]>([])

    private init(script: @escaping Script) {
        self.script = script
    }

    /// Every request received so far, in order.
    public var received: [Received] { log.withLock { $0 } }

    /// A DynamoDB error body such as DynamoDB sends: `{"__type": "…#type", "message": …}`.
    public static func errorBody(_ type: String, _ message: String = "scripted") -> String {
        #"{"__type":"com.amazonaws.dynamodb.v20120810#\#(type)","message":"\#(message)"}"#
    }

    /// `DescribeTable`'s answer for an `ACTIVE` table.
    public static let activeTable = #"{"Table":{"TableName":"messages","TableStatus":"ACTIVE"}}"#

    /// Runs an endpoint for the duration of `body`, passing its URL (`http://127.0.0.1:PORT`),
    /// then closes it and every connection it holds.
    public static func run<T: Sendable>(
        _ script: @escaping Script, _ body: (ScriptedDynamoDBEndpoint, String) async throws -> T
    ) async throws -> T {
        let endpoint = ScriptedDynamoDBEndpoint(script: script)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                endpoint.channels.withLock { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false)
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(endpoint: endpoint))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        endpoint.channels.withLock { $0.append(server) }
        let port = server.localAddress?.port ?? 0
        do {
            let result = try await body(endpoint, "http://127.0.0.1:\(port)")
            await endpoint.close()
            return result
        } catch {
            await endpoint.close()
            throw error
        }
    }

    private func close() async {
        for channel in channels.withLock({ $0 }) { try? await channel.close() }
    }

    fileprivate func reply(to operation: String) -> Reply {
        let received = log.withLock { log in
            let received = Received(operation: operation, index: log.count(where: { $0.operation == operation }))
            log.append(received)
            return received
        }
        return script(received)
    }

    /// Reads requests on one connection and writes the script's replies.
    private final class RequestHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let endpoint: ScriptedDynamoDBEndpoint
        private var operation = ""

        init(endpoint: ScriptedDynamoDBEndpoint) {
            self.endpoint = endpoint
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                let target = head.headers["x-amz-target"].first ?? ""
                operation = target.split(separator: ".").last.map(String.init) ?? target
            case .body:
                break
            case .end:
                guard case let .answer(status, body, delay) = endpoint.reply(to: operation) else { return }
                context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) {
                    var headers = HTTPHeaders()
                    headers.add(name: "content-type", value: "application/x-amz-json-1.0")
                    headers.add(name: "content-length", value: String(body.utf8.count))
                    let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
                    context.write(self.wrapOutboundOut(.head(head)), promise: nil)
                    context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
                    context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        }
    }
}
