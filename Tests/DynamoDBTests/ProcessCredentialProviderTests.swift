import Foundation
import Logging
import StoreTestSupport
import Testing

@testable import AWSSigning

@Suite struct ProcessCredentialProviderTests {
    /// A profile `default` whose `credential_process` is `line`, in a config file of its own.
    static func environment(_ folder: TemporaryDirectory, processLine line: String) throws -> [String: String] {
        try "[default]\ncredential_process = \(line)\n".write(toFile: folder.path("config"), atomically: true, encoding: .utf8)
        return ["AWS_CONFIG_FILE": folder.path("config"), "AWS_SHARED_CREDENTIALS_FILE": folder.path("none"), "HOME": folder.path("home")]
    }

    /// An executable shell script in `folder`; its path.
    static func script(_ folder: TemporaryDirectory, _ name: String, _ body: String) throws -> String {
        let path = folder.path(name)
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        return path
    }

    @Test func runsTheProgramWithoutAShellAndReadsItsDocument() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        // The arguments arrive as botocore splits them; `$HOME` and `;` are not the shell's.
        let script = try Self.script(
            folder, "creds helper.sh",
            #"""
            [ "$1" = 'two words' ] && [ "$2" = '$HOME;x' ] && [ "$3" = 'a"b' ] || exit 3
            printf '{"Version": 1, "AccessKeyId": "PROCESSKEY", "SecretAccessKey": "process-secret", "SessionToken": "process-token", "Expiration": "2030-01-02T03:04:05Z"}'
            """#
        )
        let line = #""\#(script)" 'two words' $HOME\;x "a\"b""#
        let provider = ProcessCredentialProvider(environment: try Self.environment(folder, processLine: line))
        let credentials = try await provider.credentials()
        #expect(credentials == AWSCredentials(
            accessKeyID: "PROCESSKEY", secretAccessKey: "process-secret", sessionToken: "process-token", expiration: Date(timeIntervalSince1970: 1_893_553_445)
        ))
    }

    @Test func aHangingProgramIsKilledAtTheTimeout() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let script = try Self.script(folder, "hang.sh", "exec sleep 30")
        let provider = ProcessCredentialProvider(environment: try Self.environment(folder, processLine: script), timeout: .milliseconds(500))
        let started = ContinuousClock.now
        let error = await #expect(throws: CredentialError.self) { try await provider.credentials() }
        // Well before the program's own 30 s: it was killed (a loaded machine needs a few seconds).
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(error?.isConfiguredSourceFailure == true)
        #expect(error?.reason.contains("did not finish within") == true)
    }

    @Test func aFailedProgramsStandardErrorNeverReachesTheError() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let script = try Self.script(folder, "fail.sh", "echo 'token=hunter2-SECRET' >&2\necho 'partial SECRET-OUT'\nexit 1")
        let provider = ProcessCredentialProvider(environment: try Self.environment(folder, processLine: script))
        let error = await #expect(throws: CredentialError.self) { try await provider.credentials() }
        #expect(error?.reason.contains("exited with status 1") == true)
        #expect(error?.isConfiguredSourceFailure == true)
        #expect(error.map { "\($0)" }?.contains("SECRET") == false)
    }

    @Test(arguments: [
        ("SECRET-garbage, not JSON", "not a JSON object"),
        (#"{"Version": 2, "AccessKeyId": "AK", "SecretAccessKey": "SECRET-v2"}"#, "Version is not 1"),
        (#"{"Version": "1", "AccessKeyId": "AK", "SecretAccessKey": "SECRET-v"}"#, "Version is not 1"),
        (#"{"Version": 1, "AccessKeyId": "AK"}"#, "no SecretAccessKey"),
        (#"{"Version": 1, "AccessKeyId": "AK", "SecretAccessKey": "SECRET-e", "Expiration": "tomorrow"}"#, "Expiration"),
    ])
    func badDocumentsAreRefusedWithoutQuotingThem(_ output: String, _ expected: String) async throws {
        let name = expected
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try output.write(toFile: folder.path("out"), atomically: true, encoding: .utf8)
        let script = try Self.script(folder, "print.sh", "cat '\(folder.path("out"))'")
        let provider = ProcessCredentialProvider(environment: try Self.environment(folder, processLine: script))
        let error = await #expect(throws: CredentialError.self) { try await provider.credentials() }
        #expect(error?.reason.contains(expected) == true, "\(name): \(error?.reason ?? "")")
        #expect(error.map { "\($0)" }?.contains("SECRET") == false)
    }

    @Test func aProgramThatPrintsWithoutEndIsStoppedAtTheOutputLimit() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let script = try Self.script(folder, "flood.sh", "exec yes SECRET-flood")
        let provider = ProcessCredentialProvider(environment: try Self.environment(folder, processLine: script), timeout: .seconds(20))
        let error = await #expect(throws: CredentialError.self) { try await provider.credentials() }
        // Stopped at the limit: a timeout would say "did not finish within".
        #expect(error?.reason.contains("printed more than") == true)
        #expect(error.map { "\($0)" }?.contains("SECRET") == false)
    }

    @Test func aProfileWithoutAProcessIsNotConfiguredAndAMissingProgramIs() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try "[default]\nregion = eu-west-1\n".write(toFile: folder.path("config"), atomically: true, encoding: .utf8)
        let none = ProcessCredentialProvider(environment: ["AWS_CONFIG_FILE": folder.path("config"), "AWS_SHARED_CREDENTIALS_FILE": folder.path("none")])
        let notSetUp = await #expect(throws: CredentialError.self) { try await none.credentials() }
        #expect(notSetUp?.isConfiguredSourceFailure == false)

        let missing = ProcessCredentialProvider(environment: try Self.environment(folder, processLine: "no-such-credential-helper-17 --flag"))
        let failed = await #expect(throws: CredentialError.self) { try await missing.credentials() }
        #expect(failed?.isConfiguredSourceFailure == true)
    }

    @Test func theProgramNeverSeesTheWithheldVariablesButSeesTheConfiguredOnes() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        // A variable this process inherited (the shell sets none of these itself) stands for a
        // secret such as WEBHOOK_PASSWORD in the service's environment.
        let shellOwn: Set = ["PATH", "PWD", "OLDPWD", "IFS", "PS1", "PS2", "PS4", "OPTIND", "PPID", "SHLVL", "_", "HOME"]
        let inherited = try #require(
            ProcessInfo.processInfo.environment.keys.sorted().first { name in
                !shellOwn.contains(name) && !name.hasPrefix("AWS_") && name.first?.isLetter == true
                    && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            }
        )
        let script = try Self.script(
            folder, "env.sh",
            #"printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s-%s"}' "${AWS_REGION:-unset}" "${WEBHOOK_PASSWORD:-unset}" "${"#
                + inherited + #":-unset}""#
        )
        var environment = try Self.environment(folder, processLine: script)
        environment["AWS_REGION"] = "eu-north-1"
        environment["WEBHOOK_PASSWORD"] = "hunter2"
        let provider = ProcessCredentialProvider(environment: environment, withheldVariables: ["WEBHOOK_PASSWORD", inherited])
        let credentials = try await provider.credentials()
        #expect(credentials.accessKeyID == "eu-north-1", "a variable set only in the configuration reaches the program")
        #expect(credentials.secretAccessKey == "unset-unset")
    }

    @Test func aFailedRefreshKeepsTheCachedCredentialsUntilTheyExpire() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let counter = folder.path("count")
        // Succeeds once, then fails every time.
        let script = try Self.script(
            folder, "once.sh",
            """
            echo x >> '\(counter)'
            [ "$(wc -l < '\(counter)' | tr -d ' ')" = 1 ] || exit 1
            printf '{"Version": 1, "AccessKeyId": "AK1", "SecretAccessKey": "s", "Expiration": "2033-05-18T03:33:20Z"}'
            """
        )
        let expiry = Date(timeIntervalSince1970: 2_000_000_000)
        let clock = TestClock(now: expiry.addingTimeInterval(-3600))
        let logs = LogRecording()
        let cache = CachingCredentialProvider(
            ProcessCredentialProvider(environment: try Self.environment(folder, processLine: script)), refreshMargin: .seconds(300),
            now: { clock.now }, logger: logs.logger
        )
        #expect(try await cache.credentials().accessKeyID == "AK1")
        clock.now = expiry.addingTimeInterval(-200)
        #expect(try await cache.credentials().accessKeyID == "AK1", "the refresh failed, the cached ones have 200 s left")
        #expect(try await cache.credentials().accessKeyID == "AK1", "and the next call tries again")
        let warnings = logs.entries.filter { $0.level == .warning }
        #expect(warnings.count == 2)
        #expect(warnings.first?.metadata["error"]?.contains("exited with status 1") == true)
        #expect(try String(contentsOfFile: counter, encoding: .utf8).split(separator: "\n").count == 3)
        clock.now = expiry.addingTimeInterval(1)
        await #expect(throws: CredentialError.self, "expired: the refresh's failure is the caller's") { try await cache.credentials() }
    }

    @Test func expiringProcessCredentialsAreCachedUntilShortlyBeforeTheyExpire() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let counter = folder.path("count")
        let script = try Self.script(
            folder, "count.sh",
            """
            echo x >> '\(counter)'
            printf '{"Version": 1, "AccessKeyId": "AK%s", "SecretAccessKey": "s", "Expiration": "2033-05-18T03:33:20Z"}' "$(wc -l < '\(counter)' | tr -d ' ')"
            """
        )
        let expiry = Date(timeIntervalSince1970: 2_000_000_000)
        let clock = TestClock(now: expiry.addingTimeInterval(-3600))
        let cache = CachingCredentialProvider(
            ProcessCredentialProvider(environment: try Self.environment(folder, processLine: script)), refreshMargin: .seconds(300), now: { clock.now }
        )
        #expect(try await cache.credentials().accessKeyID == "AK1")
        clock.now = expiry.addingTimeInterval(-400)
        #expect(try await cache.credentials().accessKeyID == "AK1")
        clock.now = expiry.addingTimeInterval(-200)
        #expect(try await cache.credentials().accessKeyID == "AK2", "run again within the margin before Expiration")
    }
}

/// The command line is split as Python's `shlex.split` (what botocore uses) splits it.
@Suite(.enabled(if: Python.canImport("shlex"), "python3 is not installed"))
struct CommandLineWordsTests {
    static let lines = [
        "plain words here", "  leading and   trailing  ", #"'single quoted' "double quoted""#, #"a"b c"d"#, #"back\ slash \\ \x"#,
        #""in \"double\" \\ \$ \n""#, #"'no \escape in single'"#, "empty '' \"\" words", "tab\tand\nnewline", "$HOME;ls|cat>#x", "",
        #"/usr/bin/helper --profile "my profile" --json"#,
    ]

    @Test func splitsAsShlexDoes() throws {
        let input = try JSONEncoder().encode(Self.lines)
        let result = try Python.run(["-c", "import json, shlex, sys; json.dump([shlex.split(l) for l in json.load(sys.stdin)], sys.stdout)"], input: input)
        try #require(result.status == 0, "\(result.errors)")
        let expected = try JSONDecoder().decode([[String]].self, from: result.output)
        for (line, words) in zip(Self.lines, expected) {
            #expect(try CommandLineWords.split(line) == words, "\(line)")
        }
    }

    @Test func refusesUnclosedQuotesAndADanglingEscape() {
        #expect(throws: CommandLineWords.Failure.unclosedQuotation) { try CommandLineWords.split("a 'b") }
        #expect(throws: CommandLineWords.Failure.unclosedQuotation) { try CommandLineWords.split(#"a "b\""#) }
        #expect(throws: CommandLineWords.Failure.danglingEscape) { try CommandLineWords.split(#"a \"#) }
    }
}
