import Testing

@testable import WebhookApp

@Suite struct DotEnvTests {
    @Test func readsTheUsualForms() throws {
        let contents = """
            # credentials
            WEBHOOK_USERNAME=webhook_user
            export WEBHOOK_PASSWORD="p@ss word#1"

              PORT = 8080   # trailing comment
            SINGLE='literal $HOME \\n "kept"'
            EMPTY=
            EMPTY_QUOTED=""
            EQUALS=a=b=c
            HASH=abc#def
            ESCAPED="line1\\nline2\\t\\"q\\" \\\\"
            MULTI="first
            second"
            CRLF=value\r
            """
        let variables = try DotEnv.parse(contents)
        #expect(variables == [
            "WEBHOOK_USERNAME": "webhook_user",
            "WEBHOOK_PASSWORD": "p@ss word#1",
            "PORT": "8080",
            "SINGLE": #"literal $HOME \n "kept""#,
            "EMPTY": "",
            "EMPTY_QUOTED": "",
            "EQUALS": "a=b=c",
            "HASH": "abc#def",
            "ESCAPED": "line1\nline2\t\"q\" \\",
            "MULTI": "first\nsecond",
            "CRLF": "value",
        ])
    }

    /// CRLF (one `Character` in Swift), LF and a lone CR each end a line, in any mix.
    @Test(arguments: ["\r\n", "\n", "\r"])
    func everyLineEndingEndsALine(_ ending: String) throws {
        let contents = ["# comment", "HOST=127.0.0.1", "", "WEBHOOK_PASSWORD=s3cr3t", "export PORT=9000 # note", "Q='a b'", "D=\"x\"", "LAST=1"]
            .joined(separator: ending) + ending
        #expect(try DotEnv.parse(contents) == [
            "HOST": "127.0.0.1", "WEBHOOK_PASSWORD": "s3cr3t", "PORT": "9000", "Q": "a b", "D": "x", "LAST": "1",
        ])
    }

    @Test func mixedLineEndingsAndAQuotedValueOverCRLFLines() throws {
        let contents = "A=1\r\nB=2\nC=3\rD=4\r\n\r\nMULTI=\"first\r\nsecond\"\r\nE=5"
        #expect(try DotEnv.parse(contents) == ["A": "1", "B": "2", "C": "3", "D": "4", "MULTI": "first\nsecond", "E": "5"])
        // A value never runs on into the next line unless it is quoted.
        for variables in [try DotEnv.parse("HOST=127.0.0.1\r\nWEBHOOK_PASSWORD=s3cr3t\r\n")] {
            #expect(variables["HOST"] == "127.0.0.1")
            #expect(!variables.values.contains { $0.contains("\r") || $0.contains("\n") })
        }
    }

    @Test func theLastOfARepeatedKeyWins() throws {
        #expect(try DotEnv.parse("A=1\nA=2") == ["A": "2"])
    }

    @Test(arguments: [
        ("JUST_A_WORD", 1), ("A=1\nB=\"unclosed", 2), ("A='unclosed", 1), ("1BAD=x", 1), ("A=\"x\" junk", 1), ("A=ok\n=nokey", 2),
    ])
    func reportsTheBadLineWithoutItsValue(_ contents: String, _ line: Int) {
        #expect(throws: DotEnv.ParseError.self) { try DotEnv.parse(contents) }
        do {
            _ = try DotEnv.parse(contents)
        } catch let error as DotEnv.ParseError {
            #expect(error.line == line)
            #expect(!error.description.contains("unclosed") && !error.description.contains("junk"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func theEnvironmentWinsOverTheFile() throws {
        let folder = try TemporaryFile(contents: "WEBHOOK_USERNAME=from_file\nWEBHOOK_PASSWORD='file secret'\n")
        defer { folder.remove() }
        let merged = try AppConfiguration.environment(dotEnvPath: folder.path, processEnvironment: ["WEBHOOK_USERNAME": "from_env"])
        #expect(merged["WEBHOOK_USERNAME"] == "from_env")
        #expect(merged["WEBHOOK_PASSWORD"] == "file secret")
        #expect(try AppConfiguration.environment(dotEnvPath: folder.path + ".missing", processEnvironment: [:]).isEmpty)
    }
}
