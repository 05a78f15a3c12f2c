import Foundation
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// Why a certificate and key pair cannot be served: which setting, which file, and why.
public struct TLSLoadError: Error, Hashable, CustomStringConvertible {
    /// `TLS_CERT_PATH` or `TLS_KEY_PATH`: the setting whose file is at fault.
    public var variable: String
    /// The file's path, as configured.
    public var path: String
    /// One sentence saying what is wrong with it.
    public var reason: String

    public var description: String { "\(variable) \(path): \(reason)" }
}

/// A certificate chain and key that were read, checked against each other and made into a
/// server context, ready for ``TLSContextStore``.
public struct LoadedTLSPair: Sendable {
    /// The server context (TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1 by ALPN).
    public let context: NIOSSLContext
    /// The leaf certificate's common name (or its description when it has none).
    public let subject: String
    /// When the leaf certificate expires.
    public let notValidAfter: Date
    /// Whether the key file may be read by its group or by others (worth a warning).
    public let keyIsShared: Bool
    /// The files' identity when they were read, to notice a later change.
    let stamp: TLSFilesStamp
}

/// The identity of both files (device, inode, size, modification time) as `stat` sees them
/// through any symbolic link: certbot's renewal changes the link, an editor the contents.
struct TLSFilesStamp: Sendable, Hashable {
    /// One file's identity; `nil` while it cannot be `stat`ed.
    struct File: Sendable, Hashable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Date
    }

    var certificate: File?
    var key: File?

    init(_ files: AppConfiguration.TLSFiles) {
        certificate = Self.file(files.certificatePath)
        key = Self.file(files.keyPath)
    }

    private static func file(_ path: String) -> File? {
        guard let status = FileStatus(path) else { return nil }
        return File(
            device: status.device, inode: status.inode, size: status.size, modified: status.modified
        )
    }
}

/// What `stat` says about a path, through any symbolic link. From Foundation's attributes:
/// Glibc's `struct stat` resolves to another module's copy in release builds
/// (`MemberImportVisibility`), so it is not used directly.
struct FileStatus {
    var isRegularFile: Bool
    var isDirectory: Bool
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Date
    var permissions: Int

    /// `nil` when nothing is at `path` (or a link leads nowhere).
    init?(_ path: String) {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: resolved) else { return nil }
        let type = attributes[.type] as? FileAttributeType
        isRegularFile = type == .typeRegular
        isDirectory = type == .typeDirectory
        device = (attributes[.systemNumber] as? NSNumber)?.uint64Value ?? 0
        inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
        size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        modified = attributes[.modificationDate] as? Date ?? .distantPast
        permissions = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
    }
}

/// Reads `TLS_CERT_PATH` and `TLS_KEY_PATH` and checks them the same way at start and on
/// every reload: both readable regular files, PEM, the key matching the leaf certificate,
/// the certificate valid now.
public enum TLSCertificateLoader {
    /// The largest PEM file read (a long chain is a few KB).
    static let maximumFileBytes = 1024 * 1024

    /// Loads and checks the pair.
    /// - Parameter now: The time the certificate must be valid at.
    /// - Throws: ``TLSLoadError`` naming the file and the reason.
    public static func load(_ files: AppConfiguration.TLSFiles, now: Date = Date()) throws(TLSLoadError) -> LoadedTLSPair {
        // Before reading, so that a change made while reading is noticed by the next look.
        let stamp = TLSFilesStamp(files)
        let certificateFile = File(variable: "TLS_CERT_PATH", path: files.certificatePath)
        let keyFile = File(variable: "TLS_KEY_PATH", path: files.keyPath)
        let certificateBytes = try certificateFile.read()
        let keyBytes = try keyFile.read()
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificateBytes)
        } catch {
            throw certificateFile.error("is not a PEM certificate (expected -----BEGIN CERTIFICATE-----)")
        }
        guard let leaf = chain.first else {
            throw certificateFile.error("holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw keyFile.error("is not an unencrypted PEM private key (expected -----BEGIN PRIVATE KEY----- or similar)")
        }
        let notValidBefore = Date(timeIntervalSince1970: TimeInterval(leaf.notValidBefore))
        let notValidAfter = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
        if notValidAfter < now {
            throw certificateFile.error("the certificate expired at \(notValidAfter.formatted(.iso8601))")
        }
        if notValidBefore > now {
            throw certificateFile.error("the certificate is not valid before \(notValidBefore.formatted(.iso8601))")
        }
        let context: NIOSSLContext
        do {
            context = try TLSContextStore.serverContext(certificateChain: chain, key: key)
        } catch NIOSSLError.failedToLoadPrivateKey {
            // BoringSSL checks the key against the leaf certificate's public key here.
            throw keyFile.error("the key does not match the certificate in TLS_CERT_PATH \(files.certificatePath)")
        } catch {
            throw certificateFile.error("the certificate and key cannot make a TLS context (\(error))")
        }
        // NIOSSL keeps `commonName()` internal; its description carries it (`…;common_name=x;…>`).
        let subject = leaf.description.dropLast().split(separator: ";").first { $0.hasPrefix("common_name=") }
            .map { String($0.dropFirst("common_name=".count)) } ?? leaf.description
        return LoadedTLSPair(
            context: context, subject: subject, notValidAfter: notValidAfter, keyIsShared: keyFile.isReadableByOthers, stamp: stamp
        )
    }

    /// One of the two files, read with reasons a person can act on.
    private struct File {
        let variable: String
        let path: String

        func error(_ reason: String) -> TLSLoadError { TLSLoadError(variable: variable, path: path, reason: reason) }

        /// Whether its group or others may read or write it (`mode & 0o077`).
        var isReadableByOthers: Bool {
            (FileStatus(path)?.permissions ?? 0) & 0o077 != 0
        }

        func read() throws(TLSLoadError) -> [UInt8] {
            guard let status = FileStatus(path) else { throw error("no such file") }
            guard status.isRegularFile else {
                throw error(status.isDirectory ? "is a directory, not a PEM file" : "is not a regular file")
            }
            guard status.size <= TLSCertificateLoader.maximumFileBytes else {
                throw error("is larger than \(TLSCertificateLoader.maximumFileBytes) bytes, which no PEM certificate or key is")
            }
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw error("cannot be read: \(String(cString: strerror(errno)))") }
            defer { close(descriptor) }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw error("cannot be read: \(String(cString: strerror(errno)))")
                }
                if count == 0 { break }
                bytes += buffer[0..<count]
                guard bytes.count <= TLSCertificateLoader.maximumFileBytes else {
                    throw error("is larger than \(TLSCertificateLoader.maximumFileBytes) bytes, which no PEM certificate or key is")
                }
            }
            guard !bytes.isEmpty else { throw error("is empty") }
            return bytes
        }
    }
}
