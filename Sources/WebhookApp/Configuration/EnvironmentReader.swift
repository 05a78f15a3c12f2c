/// Reads typed settings out of environment variables, collecting a sentence for every missing
/// or bad one instead of stopping at the first, and never quoting a value back (it may be a
/// secret). Each configuration group reads its own variables through one.
struct EnvironmentReader {
    let environment: [String: String]
    /// One sentence per problem found so far.
    var problems: [String] = []

    init(_ environment: [String: String]) {
        self.environment = environment
    }

    /// A variable's value; an empty one counts as unset.
    func value(_ name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// A whole number within `range`, or `defaultValue` when unset.
    mutating func integer(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) -> Int {
        guard let text = value(name) else { return defaultValue }
        guard let number = Int(text), range.contains(number) else {
            problems.append("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return defaultValue
        }
        return number
    }

    /// A number of seconds within `range`, or `defaultValue` when unset.
    mutating func seconds(_ name: String, default defaultValue: Duration, in range: ClosedRange<Int>) -> Duration {
        .seconds(integer(name, default: Int(defaultValue.components.seconds), in: range))
    }

    /// `true` or `false` (in any case), or `defaultValue` when unset.
    mutating func boolean(_ name: String, default defaultValue: Bool) -> Bool {
        guard let text = value(name) else { return defaultValue }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default:
            problems.append("\(name) must be true or false")
            return defaultValue
        }
    }

    /// A value that `isValid` accepts, or `defaultValue` when unset; `rule` says what it must be.
    mutating func checked(_ name: String, default defaultValue: String, rule: String, _ isValid: (String) -> Bool) -> String {
        let text = value(name) ?? defaultValue
        if !isValid(text) { problems.append("\(name) must be \(rule)") }
        return text
    }

    mutating func fail(_ problem: String) {
        // Settings read by two parts (the AWS region, for DynamoDB and S3) report once.
        if !problems.contains(problem) { problems.append(problem) }
    }
}
