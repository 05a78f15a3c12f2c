import AWSSigning
import MessageStore
import S3

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
        /// How the archiver paces itself: `ATTACHMENT_CLAIM_SECONDS` (how long a job stays
        /// with an instance that stopped renewing its claim; default 60); the rest is not read
        /// from the environment (tests shorten it).
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
            var archiver = AttachmentArchiver.Settings()
            archiver.claimDuration = reader.seconds("ATTACHMENT_CLAIM_SECONDS", default: archiver.claimDuration, in: 3...3600)
            self.init(allowedHosts: policy, limits: limits, store: BlobStoreChoice.read(&reader), folder: folder, archiver: archiver)
        }
    }

    /// `ATTACHMENT_STORE`: where archived attachment files are kept.
    public enum BlobStoreChoice: Sendable, Hashable {
        /// `local` (the default): files in `ATTACHMENT_DIR`.
        case local
        /// `s3`: objects `attachments/sha256/{hex}` in a bucket.
        case s3(S3Settings)

        static func read(_ reader: inout EnvironmentReader) -> BlobStoreChoice {
            switch reader.value("ATTACHMENT_STORE")?.lowercased() {
            case nil, "local":
                return .local
            case "s3":
                return .s3(S3Settings(reading: &reader))
            default:
                reader.fail("ATTACHMENT_STORE must be \"local\" or \"s3\"")
                return .local
            }
        }
    }

    /// The S3 bucket that keeps archived files (`ATTACHMENT_STORE=s3`).
    public struct S3Settings: Sendable, Hashable {
        /// `S3_BUCKET` (required with `ATTACHMENT_STORE=s3`).
        public var bucket: String
        /// The AWS region (``AppConfiguration/awsRegion(_:)``: `AWS_REGION`, `AWS_DEFAULT_REGION`,
        /// the profile's `region`, else `us-east-1`).
        public var region: String
        /// The `AWS_*` variables (and `HOME`) that the endpoint override (`AWS_ENDPOINT_URL_S3`,
        /// then `AWS_ENDPOINT_URL`) and the credential chain read.
        public var awsEnvironment: [String: String]
        /// The service's own secrets (``AppConfiguration/secretVariables``), which a
        /// `credential_process` program never sees.
        public var withheldVariables: Set<String>

        /// Creates settings.
        public init(bucket: String, region: String = "us-east-1", awsEnvironment: [String: String] = [:], withheldVariables: Set<String> = []) {
            self.bucket = bucket
            self.region = region
            self.awsEnvironment = awsEnvironment
            self.withheldVariables = withheldVariables
        }

        init(reading reader: inout EnvironmentReader) {
            let bucket = reader.value("S3_BUCKET")
            if bucket == nil {
                reader.fail("S3_BUCKET is not set, and ATTACHMENT_STORE=s3 needs it")
            } else if let bucket, !Self.isBucketName(bucket) {
                reader.fail("S3_BUCKET must be 3 to 63 lowercase letters, digits, '.' or '-'")
            }
            let environment = reader.environment.filter { $0.key.hasPrefix("AWS_") || $0.key == "HOME" }
            if let endpoint = S3Client.Configuration.endpointOverride(in: environment),
                !(endpoint.lowercased().hasPrefix("http://") || endpoint.lowercased().hasPrefix("https://"))
            {
                reader.fail("AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) must be an http or https URL")
            }
            self.init(
                bucket: bucket ?? "",
                region: AppConfiguration.awsRegion(&reader).name,
                awsEnvironment: environment,
                withheldVariables: AppConfiguration.secretVariables
            )
        }

        /// A bucket name by S3's rules for new buckets: 3 to 63 of `[a-z0-9.-]`, starting and
        /// ending with a letter or digit.
        static func isBucketName(_ text: String) -> Bool {
            let bytes = Array(text.utf8)
            func isLetterOrDigit(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) }
            return (3...63).contains(bytes.count) && bytes.allSatisfy { isLetterOrDigit($0) || $0 == 0x2E || $0 == 0x2D }
                && isLetterOrDigit(bytes[0]) && isLetterOrDigit(bytes[bytes.count - 1])
        }
    }
}
