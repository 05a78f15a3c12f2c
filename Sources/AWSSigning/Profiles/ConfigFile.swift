import Foundation

/// The INI dialect of the AWS shared files, read as botocore reads it (Python's
/// `configparser`): `[section]` headers, `key = value` or `key: value` lines (keys
/// lower-cased, both sides trimmed), whole-line `#` and `;` comments, and indented lines
/// that continue the value above them (the nested `s3 =` settings; kept, never read here).
/// There are no inline comments: `#` inside a value is part of it.
struct ConfigFile: Sendable, Hashable {
    /// The sections in the order the file gives them, each with its keys and values. A
    /// section that appears twice is one section with both sets of keys (the later wins).
    var sections: [(name: String, values: [String: String])]

    static func == (lhs: ConfigFile, rhs: ConfigFile) -> Bool {
        lhs.sections.map(\.name) == rhs.sections.map(\.name) && lhs.sections.map(\.values) == rhs.sections.map(\.values)
    }

    func hash(into hasher: inout Hasher) {
        for section in sections {
            hasher.combine(section.name)
            hasher.combine(section.values)
        }
    }

    /// Parses `contents`. Lines that are neither a header, a key nor a continuation are skipped.
    init(parsing contents: String) {
        var sections: [(name: String, values: [String: String])] = []
        var positions: [String: Int] = [:]
        var current: Int?
        var lastKey: (key: String, indent: Int)?
        for rawLine in contents.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let indent = rawLine.prefix { $0 == " " || $0 == "\t" }.count
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty {
                lastKey = nil
                continue
            }
            if line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if let current, let last = lastKey, indent > last.indent {
                let previous = sections[current].values[last.key] ?? ""
                sections[current].values[last.key] = previous + "\n" + line
                continue
            }
            if line.hasPrefix("["), line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if let position = positions[name] {
                    current = position
                } else {
                    positions[name] = sections.count
                    current = sections.count
                    sections.append((name, [:]))
                }
                lastKey = nil
                continue
            }
            guard let current, let delimiter = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else { continue }
            let key = line[..<delimiter].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: delimiter)...].trimmingCharacters(in: .whitespaces)
            sections[current].values[key] = value
            lastKey = (key, indent)
        }
        self.sections = sections
    }

    /// The profiles of a config file: `[default]` and `[profile NAME]` (`NAME` may be quoted);
    /// other sections (`[sso-session …]`, `[services …]`, `[preview]`) are not profiles. Where
    /// two sections name one profile (`[default]` and `[profile default]`), the later wins.
    var configProfiles: [String: [String: String]] {
        var profiles: [String: [String: String]] = [:]
        for (name, values) in sections {
            if name == "default" {
                profiles["default"] = values
            } else if name.hasPrefix("profile"), let first = name.dropFirst("profile".count).first, first == " " || first == "\t" {
                var profile = name.dropFirst("profile".count).trimmingCharacters(in: .whitespaces)
                if profile.count >= 2, let quote = profile.first, quote == "\"" || quote == "'", profile.last == quote {
                    profile = String(profile.dropFirst().dropLast())
                }
                if !profile.isEmpty { profiles[profile] = values }
            }
        }
        return profiles
    }

    /// The profiles of a credentials file: every section, named as written.
    var credentialsProfiles: [String: [String: String]] {
        Dictionary(sections.map { ($0.name, $0.values) }, uniquingKeysWith: { _, later in later })
    }
}
