import Crypto
import Foundation
import Synchronization

/// AWS Signature Version 4, as AWS's documentation describes it ("Create a signed AWS API
/// request"): canonical request, string to sign, derived signing key, `Authorization` header.
///
/// A value with no networking: the request, credentials and time are all inputs, so the
/// same inputs always give the same signature. Header-based signing only (no presigned URLs).
public struct SigV4Signer: Sendable {
    /// A request to sign.
    public struct Request: Sendable {
        /// The HTTP method, such as `POST`.
        public var method: String
        /// The path, not percent-encoded (`/` for DynamoDB; `/{bucket}/{key}` or `/{key}` for S3).
        public var path: String
        /// Query parameters, not percent-encoded.
        public var query: [(name: String, value: String)]
        /// Headers to sign, which must include `host`.
        public var headers: [(name: String, value: String)]
        /// The body, hashed into the signature unless ``contentSHA256`` is given.
        public var body: [UInt8]
        /// The payload's hex SHA-256, or `UNSIGNED-PAYLOAD`, for a body that is not in memory
        /// (a file streamed to S3). When set it stands for the body in the canonical request,
        /// and the signer adds it as the signed `x-amz-content-sha256` header S3 requires;
        /// `nil` (DynamoDB) hashes ``body`` and adds no header.
        public var contentSHA256: String?
        /// How ``path`` becomes the canonical URI.
        public var pathEncoding: PathEncoding

        /// Creates a request.
        public init(
            method: String, path: String = "/", query: [(name: String, value: String)] = [], headers: [(name: String, value: String)],
            body: [UInt8] = [], contentSHA256: String? = nil, pathEncoding: PathEncoding = .encodedOnce
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
            self.contentSHA256 = contentSHA256
            self.pathEncoding = pathEncoding
        }
    }

    /// How a request's path, given unencoded, becomes the canonical URI.
    ///
    /// The path on the wire is URI-encoded once (RFC 3986 unreserved characters and `/` kept).
    /// S3 signs that path as it is; every other service encodes it once more. DynamoDB's
    /// path is `/`, for which both rules give `/`.
    public enum PathEncoding: Sendable, Hashable {
        /// Each segment URI-encoded once, `/` kept: S3's rule (botocore's `S3SigV4Auth`).
        case encodedOnce
        /// The once-encoded path encoded again (`%` becomes `%25`): the rule of the services
        /// other than S3 (botocore's `SigV4Auth`).
        case encodedTwice
    }

    /// The key to sign with.
    public var credentials: AWSCredentials
    /// The region, such as `us-east-1`.
    public var region: String
    /// The service's signing name, such as `dynamodb`.
    public var service: String
    private let keyCache: SigningKeyCache?

    /// Creates a signer.
    /// - Parameter keyCache: Keeps the derived key of the current day, region and service so
    ///   it is not derived again for every request.
    public init(credentials: AWSCredentials, region: String, service: String, keyCache: SigningKeyCache? = nil) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.keyCache = keyCache
    }

    /// The headers to add to `request`: `x-amz-content-sha256` (when the request gives
    /// ``Request/contentSHA256``), `x-amz-date`, `x-amz-security-token` (with temporary
    /// credentials) and `authorization`. All but the last are signed too.
    public func signingHeaders(for request: Request, date: Date) -> [(name: String, value: String)] {
        let timestamp = AmzDate(date)
        var added: [(name: String, value: String)] = []
        if let contentSHA256 = request.contentSHA256 { added.append(("x-amz-content-sha256", contentSHA256)) }
        added.append(("x-amz-date", timestamp.dateTime))
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        var signed = request
        signed.headers += added

        let canonical = canonicalRequest(signed)
        let scope = "\(timestamp.date)/\(region)/\(service)/aws4_request"
        let toSign = stringToSign(canonicalRequest: canonical.text, dateTime: timestamp.dateTime, scope: scope)
        let key = signingKey(date: timestamp.date)
        let signature = HMAC<SHA256>.authenticationCode(for: Array(toSign.utf8), using: key).hexString
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
        return added + [("authorization", authorization)]
    }

    /// The canonical request and its `SignedHeaders` list.
    func canonicalRequest(_ request: Request) -> (text: String, signedHeaders: String) {
        var canonicalURI = request.path.isEmpty ? "/" : Self.percentEncode(request.path, keepSlash: true)
        if request.pathEncoding == .encodedTwice { canonicalURI = Self.percentEncode(canonicalURI, keepSlash: true) }
        let encodedQuery: [(name: String, value: String)] = request.query.map {
            (Self.percentEncode($0.name, keepSlash: false), Self.percentEncode($0.value, keepSlash: false))
        }
        let canonicalQuery = encodedQuery
            .sorted { (left, right) -> Bool in left.name == right.name ? left.value < right.value : left.name < right.name }
            .map { "\($0.name)=\($0.value)" }
            .joined(separator: "&")

        // Names lower-cased and sorted; a name given more than once keeps its values in order,
        // joined by commas (the sort is by name, then by position).
        var lowered: [(name: String, position: Int, value: String)] = []
        lowered.reserveCapacity(request.headers.count)
        for (position, header) in request.headers.enumerated() {
            lowered.append((header.name.lowercased(), position, Self.canonicalHeaderValue(header.value)))
        }
        lowered.sort { $0.name == $1.name ? $0.position < $1.position : $0.name < $1.name }
        var canonicalHeaders = ""
        var signedHeaders = ""
        canonicalHeaders.reserveCapacity(256)
        for (index, header) in lowered.enumerated() {
            if index > 0, lowered[index - 1].name == header.name {
                canonicalHeaders.removeLast()  // the previous value's newline
                canonicalHeaders += ","
            } else {
                if !signedHeaders.isEmpty { signedHeaders += ";" }
                signedHeaders += header.name
                canonicalHeaders += header.name
                canonicalHeaders += ":"
            }
            canonicalHeaders += header.value
            canonicalHeaders += "\n"
        }
        let payloadHash = request.contentSHA256 ?? SHA256.hash(data: request.body).hexString
        let text = [request.method, canonicalURI, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].joined(separator: "\n")
        return (text, signedHeaders)
    }

    func stringToSign(canonicalRequest: String, dateTime: String, scope: String) -> String {
        ["AWS4-HMAC-SHA256", dateTime, scope, SHA256.hash(data: Array(canonicalRequest.utf8)).hexString].joined(separator: "\n")
    }

    /// The derived key: HMAC chain over date, region, service and `aws4_request`.
    func signingKey(date: String) -> SymmetricKey {
        let scope = SigningKeyCache.Scope(accessKeyID: credentials.accessKeyID, date: date, region: region, service: service)
        if let key = keyCache?.key(for: scope) { return key }
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        keyCache?.store(key, for: scope)
        return key
    }

    /// Trims the value and folds runs of spaces into one, as the canonical form requires.
    static func canonicalHeaderValue(_ value: String) -> String {
        // Most values (every one DynamoDB requests carry) are already canonical.
        var previousIsSpace = true  // so a leading space is caught
        var isCanonical = true
        for byte in value.utf8 {
            let isSpace = byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
            if isSpace && (previousIsSpace || byte == UInt8(ascii: "\t")) {
                isCanonical = false
                break
            }
            previousIsSpace = isSpace
        }
        if isCanonical && !previousIsSpace || value.isEmpty { return value }
        return value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// URI-encodes `text` as SigV4 and S3 want it on the wire: every byte but RFC 3986's
    /// unreserved `A–Z a–z 0–9 - . _ ~` (and `/` when `keepingSlashes`) as `%XX`, upper-case.
    /// A path encoded this way is what ``PathEncoding/encodedOnce`` signs.
    public static func uriEncode(_ text: String, keepingSlashes: Bool = false) -> String {
        percentEncode(text, keepSlash: keepingSlashes)
    }

    /// RFC 3986 percent-encoding: everything but `A–Z a–z 0–9 - . _ ~` (and `/` in paths).
    static func percentEncode(_ text: String, keepSlash: Bool) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                encoded += "/"
            default:
                encoded += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return encoded
    }
}

/// Keeps the most recent derived signing key, which is valid for one day, region and service.
public final class SigningKeyCache: Sendable {
    struct Scope: Hashable {
        var accessKeyID: String
        var date: String
        var region: String
        var service: String
    }

    private let latest = Mutex<(scope: Scope, key: SymmetricKey)?>(nil)

    /// Creates an empty cache.
    public init() {}

    func key(for scope: Scope) -> SymmetricKey? {
        latest.withLock { $0?.scope == scope ? $0?.key : nil }
    }

    func store(_ key: SymmetricKey, for scope: Scope) {
        latest.withLock { $0 = (scope, key) }
    }
}

/// `YYYYMMDD` and `YYYYMMDDTHHMMSSZ` in UTC.
struct AmzDate {
    let date: String
    let dateTime: String

    /// Computed from the seconds since 1970, with no calendar: Foundation's `Calendar` took a
    /// large share of each request's signing time. UTC has no leap seconds in POSIX time, so
    /// whole days of 86,400 seconds are exact.
    init(_ instant: Date) {
        let seconds = Int64(instant.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = Self.civilDate(daysSince1970: days)
        var text: [UInt8] = []
        text.reserveCapacity(16)
        func append(_ value: Int64, width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var value = value
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                value %= divisor
                divisor /= 10
            }
        }
        append(year, width: 4)
        append(month, width: 2)
        append(day, width: 2)
        date = String(decoding: text, as: UTF8.self)
        text.append(UInt8(ascii: "T"))
        append(Int64(secondOfDay / 3600), width: 2)
        append(Int64(secondOfDay / 60 % 60), width: 2)
        append(Int64(secondOfDay % 60), width: 2)
        text.append(UInt8(ascii: "Z"))
        dateTime = String(decoding: text, as: UTF8.self)
    }

    /// The proleptic Gregorian year, month and day of a day counted from 1970-01-01 (Howard
    /// Hinnant's `civil_from_days`).
    static func civilDate(daysSince1970: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = daysSince1970 + 719_468  // days since 0000-03-01
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal.
    var hexString: String {
        let digits: StaticString = "0123456789abcdef"
        var text: [UInt8] = []
        text.reserveCapacity(underestimatedCount * 2)
        digits.withUTF8Buffer { digits in
            for byte in self {
                text.append(digits[Int(byte >> 4)])
                text.append(digits[Int(byte & 0xF)])
            }
        }
        return String(decoding: text, as: UTF8.self)
    }
}
