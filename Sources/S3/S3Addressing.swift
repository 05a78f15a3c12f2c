import AWSSigning
import Foundation

/// How a bucket and key become a URL, a `Host` header and the path that is signed.
///
/// With an endpoint override (moto, MinIO) buckets are addressed path-style
/// (`http://127.0.0.1:5000/{bucket}/{key}`), since such servers rarely resolve bucket
/// subdomains; without one, virtual-hosted style (`https://{bucket}.s3.{region}.amazonaws.com/{key}`),
/// which AWS requires of new buckets.
struct S3Addressing: Sendable, Hashable {
    /// Where one request goes.
    struct Target: Sendable, Hashable {
        /// The full URL, path percent-encoded and query included.
        var url: String
        /// The `Host` header value (with the port when it is not the scheme's default).
        var host: String
        /// The path, not percent-encoded, as the signer takes it.
        var path: String
    }

    /// `http` or `https`.
    let scheme: String
    /// The endpoint's host (the regional S3 host when there is no override).
    let host: String
    /// The endpoint's explicit port, if any.
    let port: Int?
    /// A path prefix the endpoint carries (usually empty), without a trailing slash.
    let basePath: String
    /// Whether buckets are addressed in the path rather than the host name.
    let isPathStyle: Bool

    /// - Throws: ``S3Error`` when `endpoint` is not an http or https URL.
    init(region: String, endpoint: String?) throws {
        guard let endpoint else {
            scheme = "https"
            host = "s3.\(region).amazonaws.com"
            port = nil
            basePath = ""
            isPathStyle = false
            return
        }
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw S3Error(status: 0, code: "InvalidEndpoint", message: "the S3 endpoint must be an http or https URL")
        }
        self.scheme = scheme
        self.host = host
        self.port = url.port
        var basePath = url.path
        while basePath.hasSuffix("/") { basePath.removeLast() }
        self.basePath = basePath
        isPathStyle = true
    }

    /// The target of a request on `key` in `bucket` (`key` `nil` for the bucket itself), with
    /// `query` (not yet encoded) appended.
    func target(bucket: String, key: String?, query: [(name: String, value: String)] = []) -> Target {
        var path = basePath
        let requestHost: String
        if isPathStyle {
            path += "/" + bucket
            requestHost = host
        } else {
            requestHost = bucket + "." + host
        }
        if let key {
            path += "/" + key
        } else if !isPathStyle {
            path += "/"
        }
        let hostHeader = port.map { "\(requestHost):\($0)" } ?? requestHost
        var url = "\(scheme)://\(hostHeader)\(SigV4Signer.uriEncode(path, keepingSlashes: true))"
        if !query.isEmpty {
            url += "?" + query.map { "\(SigV4Signer.uriEncode($0.name))=\(SigV4Signer.uriEncode($0.value))" }.joined(separator: "&")
        }
        return Target(url: url, host: hostHeader, path: path)
    }
}
