import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import StoreTestSupport
import Testing

@testable import WebhookApp

#if canImport(Glibc)
import Glibc
#endif

/// The real `qualia-webhook` binary, run as a child process on a free loopback port.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let logFile: URL
    var baseURL: String { "http://127.0.0.1:\(port)" }

    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("qualia-webhook")
    }

    /// Starts `qualia-webhook serve` and waits until `/health` answers.
    /// - Parameters:
    ///   - withTestCredentials: whether the environment carries the test credentials
    ///     (`false` when a `.env` file in `folder` gives them).
    ///   - launcher: a command that runs the server, given its path and `serve` as its last
    ///     arguments (`bash -c 'ulimit …; exec "$0" "$@"'`, say); none by default.
    ///   - executable: the server binary to run.
    init(
        environment: [String: String], in folder: TemporaryDirectory, withTestCredentials: Bool = true, launcher: [String] = [],
        executable: URL = ServerProcess.executable
    ) async throws {
        port = try freeLoopbackPort()
        logFile = folder.url.appendingPathComponent("server-\(port).log")
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        if let command = launcher.first {
            process.executableURL = URL(fileURLWithPath: command)
            process.arguments = launcher.dropFirst() + [executable.path, "serve"]
        } else {
            process.executableURL = executable
            process.arguments = ["serve"]
        }
        process.currentDirectoryURL = folder.url
        let credentials = withTestCredentials
            ? ["WEBHOOK_USERNAME": testCredentials.username, "WEBHOOK_PASSWORD": testCredentials.password] : [:]
        process.environment = ["PATH": "/usr/bin:/bin", "HOST": "127.0.0.1", "PORT": String(port)]
            .merging(credentials) { $1 }.merging(environment) { $1 }
        let log = try FileHandle(forWritingTo: logFile)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try await waitUntilHealthy()
    }

    private func waitUntilHealthy() async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw ServerProcessError.exited(log: log) }
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + "/health"), timeout: .seconds(1)),
                response.status == .ok
            {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ServerProcessError.notHealthy(log: log)
    }

    /// Sends a signal to the process.
    func send(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit, for at most `timeout`; `nil` if it is still running.
    func waitForExit(timeout: Duration) async throws -> (status: Int32, reason: Process.TerminationReason)? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
        return (process.terminationStatus, process.terminationReason)
    }

    /// The server's output so far.
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

enum ServerProcessError: Error, CustomStringConvertible {
    case exited(log: String)
    case notHealthy(log: String)

    var description: String {
        switch self {
        case .exited(let log): "the server exited while starting:\n\(log)"
        case .notHealthy(let log): "the server did not answer /health in time:\n\(log)"
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
func freeLoopbackPort() throws -> Int {
    let socket = RawSocket.makeSocket()
    defer { close(socket) }
    var address = RawSocket.loopback(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
    }
    guard bound else { throw RawSocket.Failure.bind }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A plain blocking TCP client, for tests that need to control exactly when bytes are sent.
struct RawSocket {
    enum Failure: Error { case bind, connect, send, receive }

    let descriptor: Int32

    static func makeSocket() -> Int32 {
        #if canImport(Glibc)
        return socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        return socket(AF_INET, SOCK_STREAM, 0)
        #endif
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Connects to 127.0.0.1:`port`, with a 10 s receive timeout.
    init(port: Int) throws {
        descriptor = Self.makeSocket()
        var address = Self.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            Glibc.close(descriptor)
            throw Failure.connect
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure.send }
            offset += sent
        }
    }

    /// Sends raw bytes.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure.send }
            offset += sent
        }
    }

    /// Reads whatever arrives within `timeout`, and whether the peer closed the connection
    /// (it stops reading then). It waits on a thread of its own: a blocking wait on one of
    /// the test pool's two threads would stall every other suite's tasks for as long.
    func receive(for timeout: Duration) async -> (text: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: receiveBlocking(for: timeout)) }
        }
    }

    private func receiveBlocking(for timeout: Duration) -> (text: String, closed: Bool) {
        let deadline = ContinuousClock.now + timeout
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            let remaining = deadline - ContinuousClock.now
            var descriptorSet = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
            guard poll(&descriptorSet, 1, milliseconds) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer[0..<count]
        }
        return (String(decoding: received, as: UTF8.self), false)
    }

    /// Closes the sending side, as a client that has nothing more to send.
    func shutdownWrite() { shutdown(descriptor, Int32(SHUT_WR)) }

    /// Reads until the peer closes or the timeout passes.
    func receiveAll() -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer[0..<count]
            if let text = String(bytes: received, encoding: .utf8), Self.isCompleteResponse(text) { break }
        }
        return String(decoding: received, as: UTF8.self)
    }

    private static func isCompleteResponse(_ text: String) -> Bool {
        guard let headerEnd = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<headerEnd.lowerBound].lowercased()
        guard let lengthLine = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(lengthLine.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { return false }
        return text[headerEnd.upperBound...].utf8.count >= length
    }

    func close() { Glibc.close(descriptor) }
}

/// A `moto_server` of the test's own, which the test can stop and start again.
final class MotoProcess: @unchecked Sendable {
    let port: Int
    private var process: Process?

    var endpoint: String { "http://127.0.0.1:\(port)" }

    init() throws {
        port = try freeLoopbackPort()
    }

    /// Starts the server and waits until it answers.
    func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: endpoint + "/moto-api/"), timeout: .seconds(1)),
                response.status == .ok
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ServerProcessError.notHealthy(log: "moto_server on port \(port)")
    }

    /// Kills the server at once, as a crash or network loss would.
    func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}
