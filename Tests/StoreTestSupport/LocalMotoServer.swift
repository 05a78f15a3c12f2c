import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `scripts/moto-server` started by the tests themselves, for a plain `swift test` where
/// `DYNAMODB_TEST_ENDPOINT` is not set: one per test process, on a free loopback port.
///
/// It ends with the test process however that ends (even `SIGKILL`): its standard input is
/// a pipe whose other end only this process holds, and it exits when that pipe closes.
final class LocalMotoServer: @unchecked Sendable {  // only `let`s, set before it is shared
    /// The server's URL.
    let endpoint: String
    private let process: Process
    /// Kept open for the test process's lifetime: closing it is what stops the server.
    private let lifeline: FileHandle

    private init(endpoint: String, process: Process, lifeline: FileHandle) {
        self.endpoint = endpoint
        self.process = process
        self.lifeline = lifeline
    }

    /// Whether moto can run here: `python3` with `moto[server]`, as `scripts/moto-server` needs.
    static let isInstalled: Bool = {
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", "-c", "import moto.server, moto.dynamodb.models"]
        check.standardOutput = FileHandle.nullDevice
        check.standardError = FileHandle.nullDevice
        guard (try? check.run()) != nil else { return false }
        check.waitUntilExit()
        return check.terminationStatus == 0
    }()

    /// `scripts/moto-server`, found from this file's place in the package.
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/moto-server")

    /// Runs `scripts/moto-server` and its arguments, and exits when standard input closes.
    /// Request logging is off, so the log holds only why it failed to start.
    private static let launcher = """
        import logging, os, runpy, sys, threading
        def exit_when_the_tests_exit():
            sys.stdin.buffer.read()
            os._exit(0)
        threading.Thread(target=exit_when_the_tests_exit, daemon=True).start()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        sys.argv = sys.argv[1:]
        runpy.run_path(sys.argv[0], run_name="__main__")
        """

    /// Starts the server and waits, blocking the calling thread, until `/moto-api/` answers.
    ///
    /// It blocks because the tests ask for the server from synchronous places (test
    /// arguments and conditions, which Swift Testing evaluates before running any test).
    static func start(timeout: Duration = .seconds(60)) throws -> LocalMotoServer {
        let port = try freeLoopbackPort()
        let folder = try TemporaryDirectory()
        // Removed once the server answers; until then it holds why a start failed.
        defer { folder.remove() }
        let logPath = folder.path("moto-server.log")
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
            throw LocalMotoServerError("could not create \(logPath)")
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        defer { try? log.close() }

        let lifeline = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", launcher, script.path, "-H", "127.0.0.1", "-p", String(port)]
        process.standardInput = lifeline
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try? lifeline.fileHandleForReading.close()

        let server = LocalMotoServer(endpoint: "http://127.0.0.1:\(port)", process: process, lifeline: lifeline.fileHandleForWriting)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if answersMotoAPI(port: port) { return server }
            guard process.isRunning else {
                let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                throw LocalMotoServerError("\(script.path) exited with status \(process.terminationStatus):\n\(output)")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        kill(process.processIdentifier, SIGKILL)
        throw LocalMotoServerError("\(script.path) on port \(port) did not answer /moto-api/ within \(timeout)")
    }

    /// Whether `GET /moto-api/` on 127.0.0.1:`port` answers `200`.
    private static func answersMotoAPI(port: Int) -> Bool {
        let descriptor = makeTCPSocket()
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopbackAddress(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { return false }
        let request = Array("GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        #if canImport(Glibc)
        let flags = Int32(MSG_NOSIGNAL)  // a closed connection is an answer, not a SIGPIPE
        #else
        let flags: Int32 = 0
        #endif
        let sent = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, flags) }
        guard sent == request.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 64)
        let received = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard received > 0 else { return false }
        let statusLine = String(decoding: buffer[0..<received], as: UTF8.self)
        return statusLine.split(separator: " ").dropFirst().first == "200"
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    private static func freeLoopbackPort() throws -> Int {
        let descriptor = makeTCPSocket()
        guard descriptor >= 0 else { throw LocalMotoServerError("no socket for a free port") }
        defer { close(descriptor) }
        var address = loopbackAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw LocalMotoServerError("could not bind a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func makeTCPSocket() -> Int32 {
        #if canImport(Glibc)
        socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        socket(AF_INET, SOCK_STREAM, 0)
        #endif
    }

    private static func loopbackAddress(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// Why the tests' own moto server could not be started.
public struct LocalMotoServerError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}
