import MessageStore

extension AppConfiguration {
    /// The attachment archive (issue 14): which files are fetched, how, and where they are kept.
    public struct Attachments: Sendable {
        /// `ATTACHMENT_ALLOWED_HOSTS`: comma-separated host names, `*.suffix`es and IP
        /// addresses whose attachments are archived. Unset: archiving is off (downloads
        /// redirect to the attachments' URLs).
        var allowedHosts: AttachmentHostPolicy
        /// `ATTACHMENT_MAX_BYTES` and the timeouts (see ``AttachmentFetcher/Limits``).
        var limits: AttachmentFetcher.Limits
        /// `ATTACHMENT_STORE`: where archived files are kept.
        public var store: BlobStoreChoice
        /// `ATTACHMENT_DIR`: the local store's folder (default `data/attachments`), and with
        /// any store the folder downloads are written to before they are stored (`{dir}/tmp`).
        public var folder: String
        /// How the archiver paces itself (not read from the environment; tests shorten it).
        var archiver: AttachmentArchiver.Settings

        /// Whether anything is archived.
        public var isArchiving: Bool { !allowedHosts.isEmpty }

        /// Creates settings: archiving off, files in `data/attachments`.
        public init(folder: String = "data/attachments") {
            self.init(allowedHosts: AttachmentHostPolicy(), limits: .init(), store: .local, folder: folder, archiver: .init())
        }

        init(allowedHosts: AttachmentHostPolicy, limits: AttachmentFetcher.Limits, store: BlobStoreChoice, folder: String, archiver: AttachmentArchiver.Settings) {
            self.allowedHosts = allowedHosts
            self.limits = limits
            self.store = store
            self.folder = folder
            self.archiver = archiver
        }

        /// Archives the attachments on `hosts` (an `ATTACHMENT_ALLOWED_HOSTS` list), with the
        /// archiver's retries starting after `firstPause`: for tests.
        /// - Throws: when the list does not parse.
        public mutating func allow(_ hosts: String, maximumBytes: Int64? = nil, readTimeout: Duration? = nil, totalTimeout: Duration? = nil, firstPause: Duration? = nil) throws {
            allowedHosts = try AttachmentHostPolicy(parsing: hosts)
            if let maximumBytes { limits.maximumBytes = maximumBytes }
            if let readTimeout { limits.readTimeout = readTimeout }
            if let totalTimeout { limits.totalTimeout = totalTimeout }
            if let firstPause { archiver.firstPause = firstPause }
        }

        init(reading reader: inout EnvironmentReader) {
            var policy = AttachmentHostPolicy()
            if let list = reader.value("ATTACHMENT_ALLOWED_HOSTS") {
                do {
                    policy = try AttachmentHostPolicy(parsing: list)
                } catch {
                    reader.fail("ATTACHMENT_ALLOWED_HOSTS: \(error.description)")
                }
            }
            let defaults = AttachmentFetcher.Limits()
            let limits = AttachmentFetcher.Limits(
                maximumBytes: Int64(reader.integer("ATTACHMENT_MAX_BYTES", default: Int(defaults.maximumBytes), in: 1...(50 * 1024 * 1024 * 1024))),
                connectTimeout: reader.seconds("ATTACHMENT_CONNECT_TIMEOUT_SECONDS", default: defaults.connectTimeout, in: 1...600),
                readTimeout: reader.seconds("ATTACHMENT_READ_TIMEOUT_SECONDS", default: defaults.readTimeout, in: 1...3600),
                totalTimeout: reader.seconds("ATTACHMENT_DOWNLOAD_TIMEOUT_SECONDS", default: defaults.totalTimeout, in: 1...86_400)
            )
            let folder = reader.checked("ATTACHMENT_DIR", default: "data/attachments", rule: "a path without control characters") { path in
                !path.isEmpty && !path.unicodeScalars.contains { $0.properties.generalCategory == .control }
            }
            self.init(allowedHosts: policy, limits: limits, store: BlobStoreChoice.read(&reader), folder: folder, archiver: .init())
        }
    }

    /// `ATTACHMENT_STORE`: where archived attachment files are kept.
    public enum BlobStoreChoice: Sendable, Hashable {
        /// `local` (the default): files in `ATTACHMENT_DIR`.
        case local

        static func read(_ reader: inout EnvironmentReader) -> BlobStoreChoice {
            switch reader.value("ATTACHMENT_STORE")?.lowercased() {
            case nil, "local":
                return .local
            default:
                reader.fail("ATTACHMENT_STORE must be \"local\"")
                return .local
            }
        }
    }
}
