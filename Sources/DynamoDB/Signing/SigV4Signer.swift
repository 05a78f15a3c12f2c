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
        /// The path, not percent-encoded (`/` for DynamoDB).
        public var path: String
        /// Query parameters, not percent-encoded.
        public var query: [(name: String, value: String)]
        /// Headers to sign, which must include `host`.
        public var headers: [(name: String, value: String)]
        /// The body.
        public var body: [UInt8]

        /// Creates a request.
        public init(method: String, path: String = "/", query: [(name: String, value: String)] = [], headers: [(name: String, value: String)], body: [UInt8] = []) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }
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

    /// The headers to add to `request`: `x-amz-date`, `x-amz-security-token` (with temporary
    /// credentials) and `authorization`. The first two are signed too.
    public func signingHeaders(for request: Request, date: Date) -> [(name: String, value: String)] {
        let timestamp = AmzDate(date)
        var added: [(name: String, value: String)] = [("x-amz-date", timestamp.dateTime)]
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
        let canonicalURI = request.path.isEmpty ? "/" : Self.percentEncode(request.path, keepSlash: true)
        let encodedQuery: [(name: String, value: String)] = request.query.map {
            (Self.percentEncode($0.name, keepSlash: false), Self.percentEncode($0.value, keepSlash: false))
        }
        let canonicalQuery = encodedQuery
            .sorted { (left, right) -> Bool in left.name == right.name ? left.value < right.value : left.name < right.name }
            .map { "\($0.name)=\($0.value)" }
            .joined(separator: "&")

        var headers: [String: [String]] = [:]
        for (name, value) in request.headers {
            headers[name.lowercased(), default: []].append(Self.canonicalHeaderValue(value))
        }
        let names = headers.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(headers[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let payloadHash = SHA256.hash(data: request.body).hexString
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
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
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

    init(_ instant: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: instant)
        func pad(_ value: Int?, _ width: Int) -> String {
            let digits = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        date = pad(parts.year, 4) + pad(parts.month, 2) + pad(parts.day, 2)
        dateTime = date + "T" + pad(parts.hour, 2) + pad(parts.minute, 2) + pad(parts.second, 2) + "Z"
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal.
    var hexString: String {
        var text = ""
        for byte in self {
            text += String(byte >> 4, radix: 16) + String(byte & 0xF, radix: 16)
        }
        return text
    }
}
