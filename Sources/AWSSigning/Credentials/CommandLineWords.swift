/// Splits a command line into words as botocore does for `credential_process` (Python's
/// `shlex.split`, POSIX mode), so the same line runs the same program with the same
/// arguments, and no shell ever sees it.
///
/// Words are separated by spaces, tabs and newlines. `'…'` keeps everything literally;
/// `"…"` keeps everything but `\"` and `\\`, which become `"` and `\`; outside quotes `\x`
/// is `x`. Quoted and unquoted parts next to each other make one word (`a"b c"` is `ab c`),
/// and `''` is an empty word. `$`, `` ` ``, `|`, `;`, `>` and `#` mean nothing.
enum CommandLineWords {
    /// Why a line cannot be split.
    enum Failure: Error, Hashable {
        /// A quote is never closed.
        case unclosedQuotation
        /// The line ends with a lone `\`.
        case danglingEscape
    }

    /// The words of `line`.
    static func split(_ line: String) throws(Failure) -> [String] {
        enum State { case between, word, single, double }
        var words: [String] = []
        var word = ""
        var state = State.between
        var characters = line.makeIterator()
        while let character = characters.next() {
            switch state {
            case .between, .word:
                switch character {
                case " ", "\t", "\n", "\r", "\r\n":
                    if state == .word { words.append(word) }
                    word = ""
                    state = .between
                case "'": state = .single
                case "\"": state = .double
                case "\\":
                    guard let escaped = characters.next() else { throw .danglingEscape }
                    word.append(escaped)
                    state = .word
                default:
                    word.append(character)
                    state = .word
                }
            case .single:
                if character == "'" { state = .word } else { word.append(character) }
            case .double:
                switch character {
                case "\"": state = .word
                case "\\":
                    guard let escaped = characters.next() else { throw .unclosedQuotation }
                    if escaped != "\"" && escaped != "\\" { word.append("\\") }
                    word.append(escaped)
                default: word.append(character)
                }
            }
        }
        switch state {
        case .single, .double: throw .unclosedQuotation
        case .word: words.append(word)
        case .between: break
        }
        return words
    }
}
