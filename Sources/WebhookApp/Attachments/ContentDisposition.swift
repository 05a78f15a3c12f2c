import Foundation

/// `Content-Disposition: attachment` with a file name that is safe in every browser: a plain
/// ASCII `filename` (quotes, backslashes, slashes and control characters replaced) and the
/// exact name as RFC 8187's `filename*` in UTF-8, which browsers prefer.
enum ContentDisposition {
    static func attachment(named name: String) -> String {
        let cleaned = String(String.UnicodeScalarView(name.unicodeScalars.map { scalar in
            scalar.properties.generalCategory == .control || scalar == "/" || scalar == "\\" ? "_" : scalar
        })).trimmingCharacters(in: .whitespaces)
        let usable = cleaned.isEmpty || cleaned == "." || cleaned == ".." ? "attachment" : cleaned
        let ascii = String(String.UnicodeScalarView(usable.unicodeScalars.map { scalar in
            scalar.isASCII && scalar != "\"" && scalar != "%" && scalar != ";" ? scalar : "_"
        }))
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(percentEncoded(usable))"
    }

    /// RFC 8187's `attr-char`s kept, every other byte of the UTF-8 as `%XX`.
    static func percentEncoded(_ text: String) -> String {
        let kept = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&+-.^_`|~".utf8)
        var result = ""
        for byte in text.utf8 {
            if kept.contains(byte) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return result
    }
}
