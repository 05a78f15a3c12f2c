import Foundation

/// `python3` as the tests run it: scripts that check our output with Python's own libraries
/// (botocore's signer, prometheus_client's parser).
public enum Python {
    /// Whether `python3` can import `module` here.
    public static func canImport(_ module: String) -> Bool {
        (try? run(["-c", "import \(module)"], input: Data()).status) == 0
    }

    /// Runs `python3` as ``run(_:input:)`` does, waiting on a thread of its own, for async
    /// tests whose script runs for a while: a blocking wait on one of the test pool's threads
    /// (two on a 2-core machine) would stall every other suite's tasks meanwhile.
    public static func run(_ arguments: [String], input: Data) async throws -> (status: Int32, output: Data, errors: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try runBlocking(arguments, input: input) }) }
        }
    }

    /// Runs `python3` with `arguments`, `input` on its standard input, and waits for it.
    public static func run(_ arguments: [String], input: Data) throws -> (status: Int32, output: Data, errors: String) {
        try runBlocking(arguments, input: input)
    }

    private static func runBlocking(_ arguments: [String], input: Data) throws -> (status: Int32, output: Data, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output, errors)
    }
}
