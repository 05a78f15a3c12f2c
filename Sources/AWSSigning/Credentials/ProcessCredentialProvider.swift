import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Credentials printed by the profile's `credential_process`: a program the operator names
/// (a vault's or an SSO tool's helper), run without a shell.
///
/// The line is split into words as botocore splits it (``CommandLineWords``); the first word
/// is the program (looked up on `PATH` when it holds no `/`). It gets no standard input, its
/// standard error is discarded (helpers print secrets there when they fail, and the log must
/// never hold them), and it is killed when it runs past the timeout or the request's
/// ``Deadline``. It must exit 0 and print one JSON object: `"Version": 1`, `AccessKeyId`,
/// `SecretAccessKey`, and optionally `SessionToken` and `Expiration` (ISO 8601), before which
/// the cache asks again. Errors say what went wrong (exit status, timeout, which field)
/// and never quote the output.
///
/// The program's environment is this process's, with the configured `environment` on top
/// (so an `AWS_PROFILE` set only in `.env` reaches it too), less `withheldVariables`: botocore
/// passes its whole environment, but this process holds secrets of its own (the service's
/// passwords) that a credential helper has no business seeing.
public struct ProcessCredentialProvider: CredentialProvider {
    private let environment: [String: String]
    private let profile: String?
    private let timeout: Duration
    private let withheldVariables: Set<String>

    /// The most output read; a credentials document is a few hundred bytes.
    static let outputLimit = 64 * 1024

    /// Creates a provider.
    /// - Parameters:
    ///   - environment: The variables that name the shared files and the profile.
    ///   - profile: The profile to read; `nil` for the selected one.
    ///   - timeout: How long the program may run when no deadline is earlier.
    ///   - withheldVariables: Variables the program never gets, whether this process or
    ///     `environment` has them.
    public init(environment: [String: String], profile: String? = nil, timeout: Duration = .seconds(30), withheldVariables: Set<String> = []) {
        self.environment = environment
        self.profile = profile
        self.timeout = timeout
        self.withheldVariables = withheldVariables
    }

    /// The program's environment: `inherited` with `configured` on top, less `withheld`.
    static func childEnvironment(inherited: [String: String], configured: [String: String], withheld: Set<String>) -> [String: String] {
        inherited.merging(configured) { _, configured in configured }.filter { !withheld.contains($0.key) }
    }

    public func credentials() async throws -> AWSCredentials {
        let files = SharedConfigFiles(environment: environment)
        let name = profile ?? files.selectedProfile
        guard let line = files.profile(name)?["credential_process"], !line.isEmpty else {
            throw CredentialError("profile \(name) has no credential_process")
        }
        let words: [String]
        do {
            words = try CommandLineWords.split(line)
        } catch {
            throw CredentialError.configuredSourceFailed("profile \(name)'s credential_process cannot be split into words (\(error))")
        }
        guard let program = words.first, !program.isEmpty else {
            throw CredentialError.configuredSourceFailed("profile \(name)'s credential_process names no program")
        }
        var limit = timeout
        if let deadline = Deadline.current { limit = min(limit, deadline.remaining) }
        let childEnvironment = Self.childEnvironment(
            inherited: ProcessInfo.processInfo.environment, configured: environment, withheld: withheldVariables
        )
        let output = try await Self.run(
            program: program, arguments: Array(words.dropFirst()), environment: childEnvironment, timeout: limit, profile: name
        )
        return try Self.parse(output, profile: name)
    }

    /// Runs the program and returns what it printed once it exits 0.
    private static func run(
        program: String, arguments: [String], environment: [String: String], timeout: Duration, profile: String
    ) async throws -> [UInt8] {
        guard timeout > .zero else { throw CredentialError.configuredSourceFailed("credential_process of profile \(profile) not run: the request's deadline has passed") }
        guard let executable = executablePath(program) else {
            throw CredentialError.configuredSourceFailed("credential_process of profile \(profile): \(program) is not an executable file or on PATH")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let standardOutput = Pipe()
        process.standardOutput = standardOutput
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw CredentialError.configuredSourceFailed("credential_process of profile \(profile): \(program) could not be started")
        }
        // Read on a thread of its own: a blocking read would hold one of the few threads the
        // concurrency pool has. It ends at end of file, which the program's exit (or kill) gives.
        let collected = CollectedOutput()
        let reader = standardOutput.fileHandleForReading
        Thread.detachNewThread {
            let data = reader.readData(ofLength: outputLimit + 1)
            collected.bytes.withLock { $0 = Array(data) }
        }
        let giveUp = ContinuousClock.now + timeout
        while process.isRunning || collected.bytes.withLock({ $0 == nil }) {
            if collected.bytes.withLock({ ($0?.count ?? 0) > outputLimit }) {
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                throw CredentialError.configuredSourceFailed("credential_process of profile \(profile) printed more than \(outputLimit) bytes")
            }
            if ContinuousClock.now >= giveUp || Task.isCancelled {
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                throw CredentialError.configuredSourceFailed(
                    "credential_process of profile \(profile) did not finish within \(timeout); it was killed"
                )
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let how = process.terminationReason == .exit ? "exited with status \(process.terminationStatus)" : "was killed by signal \(process.terminationStatus)"
            throw CredentialError.configuredSourceFailed("credential_process of profile \(profile) \(how)")
        }
        let output = collected.bytes.withLock { $0 } ?? []
        guard output.count <= outputLimit else {
            throw CredentialError.configuredSourceFailed("credential_process of profile \(profile) printed more than \(outputLimit) bytes")
        }
        return output
    }

    /// `program` itself when it holds a `/`, else the first executable of that name on `PATH`.
    private static func executablePath(_ program: String) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(program)"
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isFolder), !isFolder.boolValue,
                FileManager.default.isExecutableFile(atPath: candidate)
            {
                return candidate
            }
        }
        return nil
    }

    /// The credentials in the program's output.
    static func parse(_ output: [UInt8], profile: String) throws -> AWSCredentials {
        func failure(_ what: String) -> CredentialError {
            CredentialError.configuredSourceFailed("credential_process of profile \(profile) printed \(what)")
        }
        guard let document = try? JSONDecoder().decode(ProcessOutput.self, from: Data(output)) else {
            throw failure("something that is not a JSON object")
        }
        guard case .value(1) = document.version else { throw failure("a document whose Version is not 1") }
        guard case .value(let accessKeyID) = document.accessKeyID, !accessKeyID.isEmpty else { throw failure("no AccessKeyId string") }
        guard case .value(let secret) = document.secretAccessKey, !secret.isEmpty else { throw failure("no SecretAccessKey string") }
        var token: String?
        switch document.sessionToken {
        case .missing: break
        case .value(let text): token = text.isEmpty ? nil : text
        case .wrongType: throw failure("a SessionToken that is not a string")
        }
        var expiration: Date?
        switch document.expiration {
        case .missing: break
        case .value(let text):
            guard let date = ISO8601Timestamp.parse(text) else { throw failure("an Expiration that is not an ISO 8601 time") }
            expiration = date
        case .wrongType: throw failure("an Expiration that is not a string")
        }
        return AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: token, expiration: expiration)
    }
}

/// What the reading thread read, once it has: shared between it and the waiting task.
private final class CollectedOutput: Sendable {
    let bytes = Mutex<[UInt8]?>(nil)
}

/// The JSON a credential process prints, each field told apart as missing (or `null`), of
/// the right type, or of another, so errors can say which without quoting it.
private struct ProcessOutput: Decodable {
    enum Field<Value: Decodable & Sendable>: Sendable {
        case missing
        case value(Value)
        case wrongType
    }

    enum Keys: String, CodingKey {
        case version = "Version", accessKeyID = "AccessKeyId", secretAccessKey = "SecretAccessKey", sessionToken = "SessionToken"
        case expiration = "Expiration"
    }

    var version: Field<Int>
    var accessKeyID: Field<String>
    var secretAccessKey: Field<String>
    var sessionToken: Field<String>
    var expiration: Field<String>

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        func field<Value: Decodable & Sendable>(_ key: Keys, as type: Value.Type) -> Field<Value> {
            guard container.contains(key), (try? container.decodeNil(forKey: key)) == false else { return .missing }
            return (try? container.decode(type, forKey: key)).map { .value($0) } ?? .wrongType
        }
        version = field(.version, as: Int.self)
        accessKeyID = field(.accessKeyID, as: String.self)
        secretAccessKey = field(.secretAccessKey, as: String.self)
        sessionToken = field(.sessionToken, as: String.self)
        expiration = field(.expiration, as: String.self)
    }
}
