import Crypto
import Foundation

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
