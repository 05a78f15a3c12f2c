import Foundation
import Testing

/// The README's configuration table names every environment variable the sources read, so
/// an operator never has to read the code to find a setting.
@Suite struct ReadmeConfigurationTableTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Upper-case literals with an underscore that are DynamoDB's own names, not variables.
    static let wireNames: Set<String> = ["ALL_NEW", "ALL_OLD", "KEYS_ONLY", "PAY_PER_REQUEST", "UPDATED_NEW", "UPDATED_OLD"]
    /// Variables read but not configuration: where the shared AWS files live by default.
    static let notSettings: Set<String> = ["HOME"]

    /// Every variable name in the sources: upper-case literals with an underscore, and any
    /// upper-case literal handed to the configuration reader (`HOST`, `PORT`, `STORE`).
    static func variablesInSources() throws -> Set<String> {
        let underscored = try Regex(#""([A-Z][A-Z0-9]*_[A-Z0-9_]+)""#)
        let readerCall = try Regex(#"(?:value|integer|seconds|boolean|checked)\("([A-Z][A-Z0-9_]+)""#)
        var names: Set<String> = []
        let sources = root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        for file in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for regex in [underscored, readerCall] {
                for match in text.matches(of: regex) {
                    if let name = match.output[1].substring { names.insert(String(name)) }
                }
            }
        }
        return names.subtracting(wireNames).subtracting(notSettings)
    }

    /// Every name in backticks in the first column of the README's tables.
    static func variablesInReadme() throws -> Set<String> {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let name = try Regex(#"`([A-Z][A-Z0-9_]+)`"#)
        var names: Set<String> = []
        for line in readme.split(separator: "\n") where line.hasPrefix("| `") {
            let firstColumn = line.split(separator: "|", omittingEmptySubsequences: true).first ?? ""
            for match in firstColumn.matches(of: name) {
                if let found = match.output[1].substring { names.insert(String(found)) }
            }
        }
        return names
    }

    @Test func everyVariableTheSourcesReadIsInTheReadmesTable() throws {
        let sources = try Self.variablesInSources()
        #expect(sources.contains("AWS_USE_FIPS_ENDPOINT") && sources.contains("HOST"), "the scan found too little: \(sources.sorted())")
        let missing = sources.subtracting(try Self.variablesInReadme())
        #expect(missing.isEmpty, "not in the README's configuration table: \(missing.sorted())")
    }
}
