import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import _NIOFileSystem

/// Downloads one attachment's file into a scratch file, under the SSRF rules of issue 14:
/// only listed hosts, every address they resolve to checked (and the connection made to a
/// checked one), redirects followed by hand (at most ``Limits/maximumRedirects``, each
/// target checked again), a size limit enforced while reading, and connect, read and total
/// time limits.
///
/// The scratch file is synced before it is returned, so a blob store may link it into place.
struct AttachmentFetcher: Sendable {
    /// How much a download may take.
    struct Limits: Sendable, Hashable {
        /// `ATTACHMENT_MAX_BYTES`: the largest file archived (default 100 MB).
        var maximumBytes: Int64 = 100 * 1024 * 1024
        /// `ATTACHMENT_CONNECT_TIMEOUT_SECONDS`: how long a connection may take to open.
        var connectTimeout: Duration = .seconds(10)
        /// `ATTACHMENT_READ_TIMEOUT_SECONDS`: how long the source may send nothing.
        var readTimeout: Duration = .seconds(30)
        /// `ATTACHMENT_DOWNLOAD_TIMEOUT_SECONDS`: how long one download may take in all, so
        /// a source that drips a byte at a time cannot hold a worker forever.
        var totalTimeout: Duration = .seconds(900)
        /// How many redirects are followed.
        var maximumRedirects = 3
    }

    /// A downloaded file.
    struct Fetched: Sendable {
        /// The scratch file; the caller removes it.
        var path: String
        /// Its size in bytes.
        var size: Int64
        /// Its SHA-256, 64 lowercase hex digits.
        var sha256: String
        /// Its media type as the source said, or `application/octet-stream`.
        var contentType: String
    }

    /// Why a download failed; the reason names no query string and no credentials.
    struct Failure: Error, CustomStringConvertible {
        /// Whether trying again later may succeed (a timeout, a 5xx), or never will (a host
        /// that is not allowed, a file over the limit, a 404).
        var isPermanent: Bool
        var reason: String
        var description: String { reason }

        static func permanent(_ reason: String) -> Failure { Failure(isPermanent: true, reason: reason) }
        static func transient(_ reason: String) -> Failure { Failure(isPermanent: false, reason: reason) }
    }

    let policy: AttachmentHostPolicy
    let limits: Limits
    /// Where downloads are written while they run.
    let scratchFolder: String

    /// Whether `url` is on a listed host: the cheap check made before a job is queued (the
    /// fetch checks again, with the addresses).
    func allowsURL(_ url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host, !host.isEmpty else { return false }
        return policy.allowsName(host)
    }

    /// Downloads `url` into a new scratch file.
    func fetch(_ url: String) async throws(Failure) -> Fetched {
        let deadline = NIODeadline.now() + TimeAmount(limits.totalTimeout)
        var current = url
        for hop in 0...limits.maximumRedirects {
            let target = try Self.target(of: current)
            let address = try await checkedAddress(of: target.host)
            let response = try await get(current, host: target.host, address: address, deadline: deadline)
            switch response {
            case .redirect(let location):
                guard hop < limits.maximumRedirects else { throw .permanent("more than \(limits.maximumRedirects) redirects") }
                guard let next = URL(string: location, relativeTo: URL(string: current))?.absoluteURL.absoluteString else {
                    throw .permanent("a redirect to something that is not a URL")
                }
                current = next
            case .file(let fetched):
                return fetched
            }
        }
        throw .permanent("more than \(limits.maximumRedirects) redirects")
    }

    /// The URL's scheme and host, when it is an http or https URL.
    private static func target(of url: String) throws(Failure) -> (scheme: String, host: String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else { throw .permanent("not an http or https URL") }
        return (scheme, host)
    }

    /// The address to connect to for `host`: it must be listed, and every address it
    /// resolves to must be allowed (a public address, or one listed itself).
    private func checkedAddress(of host: String) async throws(Failure) -> IPAddress {
        guard policy.allowsName(host) else { throw .permanent("host \(host) is not in ATTACHMENT_ALLOWED_HOSTS") }
        let addresses: [IPAddress]
        do {
            addresses = try await HostResolver.addresses(of: AttachmentHostPolicy.normalized(host))
        } catch {
            throw .transient(String(describing: error))
        }
        if let refused = addresses.first(where: { !policy.allowsAddress($0) }) {
            throw .permanent("host \(host) resolves to \(refused), which is not a public address and is not listed in ATTACHMENT_ALLOWED_HOSTS")
        }
        return addresses[0]
    }

    private enum Response {
        case redirect(String)
        case file(Fetched)
    }

    /// One request, to `address` (for `host`'s name, certificate and `Host` header).
    private func get(_ url: String, host: String, address: IPAddress, deadline: NIODeadline) async throws(Failure) -> Response {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.timeout = .init(connect: TimeAmount(limits.connectTimeout), read: TimeAmount(limits.readTimeout))
        configuration.connectionPool = .init(idleTimeout: .seconds(1))
        if IPAddress(AttachmentHostPolicy.normalized(host)) == nil {
            configuration.dnsOverride = [host: address.description]
        }
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            let result = try await send(url, with: client, deadline: deadline)
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func send(_ url: String, with client: HTTPClient, deadline: NIODeadline) async throws(Failure) -> Response {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "qualia-webhook attachment archiver")
        request.headers.add(name: "Accept", value: "*/*")
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: deadline)
        } catch {
            throw .transient("the request failed: \(Self.describe(error))")
        }
        let status = Int(response.status.code)
        switch status {
        case 200:
            break
        case 301, 302, 303, 307, 308:
            guard let location = response.headers.first(name: "location") else { throw .permanent("a redirect (\(status)) without a Location") }
            return .redirect(location)
        case 408, 425, 429, 500...599:
            throw .transient("the source answered \(status)")
        default:
            throw .permanent("the source answered \(status)")
        }
        if let length = response.headers.first(name: "content-length").flatMap({ Int64($0) }), length > limits.maximumBytes {
            throw .permanent("the file is \(length) bytes, over ATTACHMENT_MAX_BYTES (\(limits.maximumBytes))")
        }
        let contentType = Self.contentType(response.headers.first(name: "content-type"))
        return .file(try await save(response.body, contentType: contentType, deadline: deadline))
    }

    /// Writes the body to a new scratch file, hashing and counting as it goes, and syncs it.
    private func save(_ body: HTTPClientResponse.Body, contentType: String, deadline: NIODeadline) async throws(Failure) -> Fetched {
        let path = scratchFolder + "/download-" + UUID().uuidString
        do {
            var hash = SHA256()
            var size: Int64 = 0
            try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(path), options: .newFile(replaceExisting: false)) { file in
                for try await chunk in body {
                    size += Int64(chunk.readableBytes)
                    guard size <= limits.maximumBytes else {
                        throw Failure.permanent("the file is over ATTACHMENT_MAX_BYTES (\(limits.maximumBytes))")
                    }
                    guard NIODeadline.now() < deadline else {
                        throw Failure.transient("the download took longer than ATTACHMENT_DOWNLOAD_TIMEOUT_SECONDS")
                    }
                    chunk.withUnsafeReadableBytes { hash.update(bufferPointer: $0) }
                    try await file.write(contentsOf: chunk, toAbsoluteOffset: size - Int64(chunk.readableBytes))
                }
                try await file.synchronize()
            }
            let digest = hash.finalize().map { String(format: "%02x", $0) }.joined()
            return Fetched(path: path, size: size, sha256: digest, contentType: contentType)
        } catch {
            _ = try? await FileSystem.shared.removeItem(at: FilePath(path))
            if let failure = error as? Failure { throw failure }
            throw .transient("the download failed: \(Self.describe(error))")
        }
    }

    /// The source's media type when it is a plain `type/subtype[; parameters]` of visible
    /// ASCII; otherwise `application/octet-stream` (it is served back as given).
    static func contentType(_ value: String?) -> String {
        guard let value, !value.isEmpty, value.utf8.count <= 200, value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }),
            let slash = value.firstIndex(of: "/"), slash != value.startIndex
        else { return "application/octet-stream" }
        return value
    }

    /// An error's description without what a URL's query might hold (AsyncHTTPClient's own
    /// errors name no URLs; a deadline is said as such).
    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded: return "the download took longer than ATTACHMENT_DOWNLOAD_TIMEOUT_SECONDS"
            case .readTimeout: return "the source sent nothing for ATTACHMENT_READ_TIMEOUT_SECONDS"
            case .connectTimeout: return "the connection took longer than ATTACHMENT_CONNECT_TIMEOUT_SECONDS"
            default: return String(describing: error)
            }
        }
        return String(describing: type(of: error))
    }
}

extension TimeAmount {
    /// The same length of time as a `Duration`, to the nanosecond.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
