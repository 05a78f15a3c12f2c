import Foundation
import NIOCore
import NIOPosix
import _NIOFileSystem

#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
private let systemWrite = Darwin.write
#endif

/// Blobs as files in a local folder (`ATTACHMENT_STORE=local`, `data/attachments` by
/// default): `{root}/sha256/{first two hex digits}/{hex}`.
///
/// A blob appears under its name in one atomic step, and only once its bytes are on disk: the
/// source file (already synced by its writer) is hard-linked to the name, or, where hard links
/// cannot reach, copied to `{root}/tmp`, synced and renamed; then the folder is synced. So a
/// crash leaves the whole blob or none, and a file in `tmp` is never served.
public struct LocalBlobStore: BlobStore {
    /// The folder.
    public let root: String
    /// How much one read of a blob hands on at a time: under `AllocatorTuning`'s 128 KiB mmap
    /// threshold, so chunks come from the heap and are reused rather than mapped and unmapped
    /// each time (twice the download rate of 128 KiB chunks; BENCHMARKS.md).
    static let chunkLength = ByteCount.kibibytes(64)

    /// Uses the folder `root`, whose folders are made as blobs are stored. Whoever writes
    /// blobs calls ``prepareScratchFolder(_:)`` with ``scratchFolder`` first, at start.
    public init(root: String) {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    }

    /// Where a copy is made before it is renamed into place.
    public var scratchFolder: String { Self.scratchFolder(of: root) }

    /// The scratch folder of an attachment folder: `{root}/tmp`.
    public static func scratchFolder(of root: String) -> String { root + "/tmp" }

    /// Creates a scratch folder, or empties it of what a crash left there (half-downloaded
    /// files, half-made copies: none of them is ever served).
    /// - Throws: ``BlobStoreError`` when it cannot be created or emptied.
    public static func prepareScratchFolder(_ folder: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for leftover in try FileManager.default.contentsOfDirectory(atPath: folder) {
                try FileManager.default.removeItem(atPath: folder + "/" + leftover)
            }
        } catch {
            throw BlobStoreError(.unavailable, reason: "cannot use the folder \(folder): \(error.localizedDescription)")
        }
    }

    /// The file that holds a blob.
    public func path(of key: BlobKey) -> String {
        "\(root)/sha256/\(key.sha256.prefix(2))/\(key.sha256)"
    }

    public func put(_ blob: BlobDescription, from source: String) async throws {
        let target = path(of: blob.key)
        let scratch = scratchFolder + "/" + blob.key.sha256 + "." + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        try await NIOThreadPool.singleton.runIfActive {
            try Self.place(source, at: target, expectedSize: blob.size, scratch: scratch)
        }
    }

    public func contains(_ key: BlobKey) async throws -> Bool {
        let target = path(of: key)
        return try await NIOThreadPool.singleton.runIfActive { Self.size(of: target) != nil }
    }

    public func read(_ key: BlobKey, range: ClosedRange<Int64>?) async throws -> BlobRead {
        let target = path(of: key)
        guard let size = try await NIOThreadPool.singleton.runIfActive({ Self.size(of: target) }) else { throw BlobStoreError.notFound(key) }
        let bytes = range.map { $0.lowerBound..<($0.upperBound + 1) } ?? 0..<size
        return BlobRead(size: size) { consume in
            do {
                try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(target)) { handle in
                    for try await chunk in handle.readChunks(in: bytes, chunkLength: Self.chunkLength) {
                        try await consume(chunk)
                    }
                }
            } catch let error as FileSystemError where error.code == .notFound {
                throw BlobStoreError.notFound(key)
            }
        }
    }

    // MARK: Files (blocking; run on the thread pool)

    /// The size of a regular file, or `nil` when there is none.
    private static func size(of path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    /// Makes `source`'s bytes appear at `target` atomically (see the type's comment).
    private static func place(_ source: String, at target: String, expectedSize: Int64, scratch: String) throws {
        if size(of: target) == expectedSize { return }
        let folder = String(target[..<target.lastIndex(of: "/")!])
        try makeFolder(folder)
        if link(source, target) == 0 {
            try syncFolder(folder)
            return
        }
        let linkError = errno
        if linkError == EEXIST, size(of: target) == expectedSize { return }
        // No hard link here (another file system, or one without links), or a wrong file in
        // the way: a synced copy, renamed over the name.
        try copy(source, to: scratch)
        guard rename(scratch, target) == 0 else {
            let failure = errno
            unlink(scratch)
            throw posixError("rename into \(target)", failure)
        }
        try syncFolder(folder)
    }

    /// Creates the folders of `folder` that are missing, each synced into its parent, so a
    /// blob's name cannot outlive a crash while its folder does not.
    private static func makeFolder(_ folder: String) throws {
        var parent = folder.hasPrefix("/") ? "" : "."
        for component in folder.split(separator: "/") {
            let path = parent + "/" + component
            if mkdir(path, 0o755) == 0 {
                try syncFolder(parent.isEmpty ? "/" : parent)
            } else if errno != EEXIST {
                throw posixError("create folder \(path)", errno)
            }
            parent = path
        }
    }

    private static func copy(_ source: String, to destination: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw posixError("open \(source)", errno) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw posixError("create \(destination)", errno) }
        var buffer = [UInt8](repeating: 0, count: 1 << 17)
        do {
            while true {
                let count = buffer.withUnsafeMutableBytes { systemRead(input, $0.baseAddress, $0.count) }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw posixError("read \(source)", errno)
                }
                if count == 0 { break }
                var written = 0
                while written < count {
                    let result = buffer.withUnsafeBytes { systemWrite(output, $0.baseAddress! + written, count - written) }
                    if result < 0 {
                        if errno == EINTR { continue }
                        throw posixError("write \(destination)", errno)
                    }
                    written += result
                }
            }
            guard fsync(output) == 0 else { throw posixError("sync \(destination)", errno) }
            close(output)
        } catch {
            close(output)
            unlink(destination)
            throw error
        }
    }

    private static func syncFolder(_ folder: String) throws {
        let descriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw posixError("open folder \(folder)", errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw posixError("sync folder \(folder)", errno) }
    }

    private static func posixError(_ action: String, _ code: Int32) -> BlobStoreError {
        BlobStoreError(.unavailable, reason: "cannot \(action): \(String(cString: strerror(code)))")
    }
}
