import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// An HTTP server of the test's own, on 127.0.0.1, that plays the attachments' host: it serves
/// files the test puts, redirects, answers chosen statuses, drips, and counts every request.
///
/// - `GET /files/{name}`: the file, with its content type; 404 once removed.
/// - `GET /stream/{name}`: the file without a `Content-Length` (chunked).
/// - `GET /to?url=U`: `302` to `U`.
/// - `GET /hops/{n}/{name}`: `n` redirects, then the file.
/// - `GET /drip/{name}`: one byte every 200 ms, for a minute.
/// - `GET /flaky/{name}`: `503` for the first `failures` requests, then the file.
/// - `GET /slow/{name}`: the file, with its length, 32 KiB every 50 ms.
final class AttachmentSource: Sendable {
    struct File: Sendable {
        var bytes: [UInt8]
        var contentType: String
    }

    private let files = Mutex<[String: File]>([:])
    private let hits = Mutex<[String: Int]>([:])
    private let sent = Mutex<[String: Int]>([:])
    private let flakyFailures = Mutex<Int>(0)
    private let boundPort = Mutex<Int>(0)
    /// The port it listens on.
    var port: Int { boundPort.withLock { $0 } }

    private init() {}

    /// `http://127.0.0.1:{port}{path}`.
    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    func put(_ name: String, bytes: [UInt8], contentType: String = "application/pdf") {
        files.withLock { $0[name] = File(bytes: bytes, contentType: contentType) }
    }

    /// The file's link expires: later requests get 404.
    func remove(_ name: String) {
        _ = files.withLock { $0.removeValue(forKey: name) }
    }

    /// How many requests a path got.
    func hitCount(_ path: String) -> Int { hits.withLock { $0[path] ?? 0 } }

    /// How many body bytes `/slow/…` has handed to the connection for a path.
    func sentBytes(_ path: String) -> Int { sent.withLock { $0[path] ?? 0 } }

    /// Makes `/flaky/…` fail this many more times.
    func failNext(_ count: Int) { flakyFailures.withLock { $0 = count } }

    private func file(_ name: String) -> File? { files.withLock { $0[name] } }

    private func count(_ request: Request) {
        hits.withLock { $0[request.uri.path, default: 0] += 1 }
    }

    /// Runs `body` with a source listening on a free port.
    static func with(_ body: @Sendable (AttachmentSource) async throws -> Void) async throws {
        let (started, startedContinuation) = AsyncStream<Void>.makeStream()
        let state = AttachmentSource()
        let router = Router()
        router.get("files/{name}") { request, context -> Response in
            state.count(request)
            guard let file = state.file(try context.parameters.require("name")) else { return Response(status: .notFound) }
            return Response(status: .ok, headers: [.contentType: file.contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
        }
        router.get("stream/{name}") { request, context -> Response in
            state.count(request)
            guard let file = state.file(try context.parameters.require("name")) else { return Response(status: .notFound) }
            return Response(status: .ok, headers: [.contentType: file.contentType], body: ResponseBody { writer in
                for chunk in file.bytes.chunks(ofCount: 1024) { try await writer.write(ByteBuffer(bytes: chunk)) }
                try await writer.finish(nil)
            })
        }
        router.get("to") { request, _ -> Response in
            state.count(request)
            return Response(status: .found, headers: [.location: request.uri.queryParameters["url"].map(String.init) ?? "/"])
        }
        router.get("hops/{n}/{name}") { request, context -> Response in
            state.count(request)
            let left = try context.parameters.require("n", as: Int.self)
            let name = try context.parameters.require("name")
            return Response(status: .found, headers: [.location: left <= 1 ? "/files/\(name)" : "/hops/\(left - 1)/\(name)"])
        }
        router.get("drip/{name}") { request, _ -> Response in
            state.count(request)
            return Response(status: .ok, headers: [.contentType: "application/pdf"], body: ResponseBody { writer in
                for _ in 0..<300 {
                    try await writer.write(ByteBuffer(bytes: [0x25]))
                    try await Task.sleep(for: .milliseconds(200))
                }
                try await writer.finish(nil)
            })
        }
        router.get("slow/{name}") { request, context -> Response in
            state.count(request)
            guard let file = state.file(try context.parameters.require("name")) else { return Response(status: .notFound) }
            return Response(
                status: .ok, headers: [.contentType: file.contentType, .contentLength: String(file.bytes.count)],
                body: ResponseBody(contentLength: file.bytes.count) { writer in
                    for chunk in file.bytes.chunks(ofCount: 32 * 1024) {
                        try await writer.write(ByteBuffer(bytes: chunk))
                        state.sent.withLock { $0[request.uri.path, default: 0] += chunk.count }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    try await writer.finish(nil)
                }
            )
        }
        router.get("flaky/{name}") { request, context -> Response in
            state.count(request)
            let fail = state.flakyFailures.withLock { left in
                defer { left = max(0, left - 1) }
                return left > 0
            }
            if fail { return Response(status: .serviceUnavailable) }
            guard let file = state.file(try context.parameters.require("name")) else { return Response(status: .notFound) }
            return Response(status: .ok, headers: [.contentType: file.contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
        }
        var logger = Logger(label: "attachment-source")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                state.boundPort.withLock { $0 = channel.localAddress?.port ?? 0 }
                startedContinuation.yield()
            },
            logger: logger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
            group.addTask { try await serviceGroup.run() }
            for await _ in started { break }
            try #require(state.port > 0)
            do {
                try await body(state)
            } catch {
                await serviceGroup.triggerGracefulShutdown()
                group.cancelAll()
                throw error
            }
            await serviceGroup.triggerGracefulShutdown()
            group.cancelAll()
        }
    }
}

extension Array {
    /// The elements in slices of at most `count`.
    fileprivate func chunks(ofCount count: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: self.count, by: count).map { self[$0..<Swift.min($0 + count, self.count)] }
    }
}
