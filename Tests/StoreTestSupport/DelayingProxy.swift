import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An HTTP/1.1 forwarding proxy on a loopback port, put between DynamoDB clients and a real
/// server (moto): it forwards every request as it is and returns the server's answer, but
/// holds back the requests a rule picks for as long as the rule says before forwarding them.
///
/// Tests use it to make one instance's write slow on purpose (a transaction still in flight
/// while others write and read) over real sockets, without touching the store's code.
public final class DelayingProxy: Sendable {
    /// One request, as the rule sees it.
    public struct Request: Sendable {
        /// The `X-Amz-Target` header, such as `DynamoDB_20120810.TransactWriteItems`.
        public var target: String
        /// The body, as text.
        public var body: String
    }

    /// How long to hold a request before forwarding it; `nil` (or zero) forwards it at once.
    public typealias Rule = @Sendable (Request) -> Duration?

    /// The proxy's URL, `http://127.0.0.1:PORT`: the endpoint to give clients.
    public let endpoint: String
    private let upstream: String
    private let rule: Rule
    private let held = Mutex<[Request]>([])
    private let released = Atomic<Bool>(false)
    private let channels = Mutex<[any Channel]>([])

    private init(endpoint: String, upstream: String, rule: @escaping Rule) {
        self.endpoint = endpoint
        self.upstream = upstream.hasSuffix("/") ? String(upstream.dropLast()) : upstream
        self.rule = rule
    }

    /// The requests held back so far, in the order they arrived.
    public var heldRequests: [Request] { held.withLock { $0 } }

    /// Forwards every request held now at once, and holds none from now on: for tests that
    /// hold a request "until told", with a rule's long duration as the bound.
    public func releaseHeld() {
        released.store(true, ordering: .releasing)
    }

    /// A rule that holds the first request for `operation` (`TransactWriteItems`, say) whose
    /// body contains `text` for `duration`, and no other.
    public static func holdFirst(_ operation: String, containing text: String, for duration: Duration) -> Rule {
        let done = Atomic<Bool>(false)
        return { request in
            guard request.target.hasSuffix("." + operation), request.body.contains(text) else { return nil }
            return done.exchange(true, ordering: .relaxed) ? nil : duration
        }
    }

    /// Runs a proxy in front of `upstream` for the duration of `body`, then closes it and
    /// every connection it holds.
    public static func run<T: Sendable>(
        upstream: String, rule: @escaping Rule, _ body: (DelayingProxy) async throws -> T
    ) async throws -> T {
        let box = Mutex<DelayingProxy?>(nil)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard let proxy = box.withLock({ $0 }) else { return channel.close() }
                proxy.channels.withLock { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: true)
                    try channel.pipeline.syncOperations.addHandler(ForwardingHandler(proxy: proxy))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let proxy = DelayingProxy(endpoint: "http://127.0.0.1:\(server.localAddress?.port ?? 0)", upstream: upstream, rule: rule)
        box.withLock { $0 = proxy }
        proxy.channels.withLock { $0.append(server) }
        do {
            let result = try await body(proxy)
            await proxy.close()
            return result
        } catch {
            await proxy.close()
            throw error
        }
    }

    private func close() async {
        for channel in channels.withLock({ $0 }) { try? await channel.close() }
    }

    /// An answer to send back.
    struct Answer: Sendable {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: ByteBuffer
    }

    /// Holds the request as the rule says, then sends it upstream and reads the whole answer.
    fileprivate func forward(_ head: HTTPRequestHead, body: ByteBuffer) async throws -> Answer {
        let request = Request(target: head.headers["x-amz-target"].first ?? "", body: String(buffer: body))
        if !released.load(ordering: .acquiring), let delay = rule(request), delay > .zero {
            held.withLock { $0.append(request) }
            let until = ContinuousClock.now + delay
            while ContinuousClock.now < until, !released.load(ordering: .acquiring) {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        var outgoing = HTTPClientRequest(url: upstream + head.uri)
        outgoing.method = head.method
        for (name, value) in head.headers where name.lowercased() != "host" && name.lowercased() != "content-length" {
            outgoing.headers.add(name: name, value: value)
        }
        outgoing.body = .bytes(body)
        let response = try await HTTPClient.shared.execute(outgoing, timeout: .seconds(60))
        let answer = try await response.body.collect(upTo: 64 << 20)
        var headers = HTTPHeaders()
        for (name, value) in response.headers where !["content-length", "transfer-encoding", "connection"].contains(name.lowercased()) {
            headers.add(name: name, value: value)
        }
        headers.add(name: "content-length", value: String(answer.readableBytes))
        return Answer(status: response.status, headers: headers, body: answer)
    }

    /// Collects each request on one connection, forwards it, and writes the answer back.
    private final class ForwardingHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let proxy: DelayingProxy
        private var head: HTTPRequestHead?
        private var body = ByteBuffer()

        init(proxy: DelayingProxy) {
            self.proxy = proxy
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.clear()
            case .body(var chunk):
                body.writeBuffer(&chunk)
            case .end:
                guard let head else { return }
                let (proxy, body) = (self.proxy, self.body)
                let promise = context.eventLoop.makePromise(of: Answer.self)
                promise.completeWithTask { try await proxy.forward(head, body: body) }
                promise.futureResult.assumeIsolated().whenComplete { result in
                    let answer: Answer
                    switch result {
                    case .success(let forwarded): answer = forwarded
                    case .failure(let error):
                        var headers = HTTPHeaders()
                        let text = ByteBuffer(string: "proxy: \(error)")
                        headers.add(name: "content-length", value: String(text.readableBytes))
                        answer = Answer(status: .badGateway, headers: headers, body: text)
                    }
                    context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: answer.status, headers: answer.headers))), promise: nil)
                    context.write(self.wrapOutboundOut(.body(.byteBuffer(answer.body))), promise: nil)
                    context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        }
    }
}
