/// DynamoDB's checksum of each answer: `x-amz-crc32`, the CRC-32 of the body bytes as an
/// unsigned decimal. An answer whose body does not match it was damaged on the way (botocore
/// raises `ChecksumError` and retries it), so it is never taken for DynamoDB's word.
enum ResponseChecksum {
    /// The header DynamoDB sends the checksum in.
    static let headerName = "x-amz-crc32"

    /// Whether `body` matches the checksum the answer carries: `true` when it carries none (a
    /// DynamoDB-compatible server that sends no `x-amz-crc32`), `false` when the header is not
    /// a 32-bit unsigned decimal.
    /// - Parameters:
    ///   - headerValue: The `x-amz-crc32` header's value, or `nil` when the answer had none.
    ///   - body: The body's bytes as received.
    static func matches(headerValue: String?, body: some Collection<UInt8>) -> Bool {
        guard let headerValue else { return true }
        guard let expected = UInt32(headerValue.trimmingASCIISpaces) else { return false }
        return CRC32.checksum(body) == expected
    }
}

extension String {
    /// The text without leading or trailing spaces and tabs.
    fileprivate var trimmingASCIISpaces: Substring {
        let isSpace = { (character: Character) in character == " " || character == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return self[first...last]
    }
}
