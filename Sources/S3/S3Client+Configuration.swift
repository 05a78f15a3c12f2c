import NIOCore

extension S3Client {
    /// Where and how to reach S3.
    public struct Configuration: Sendable {
        /// The region, such as `us-east-1`.
        public var region: String
        /// An endpoint other than the region's (moto, MinIO), reached with path-style
        /// addressing (`{endpoint}/{bucket}/{key}`); `nil` for
        /// `https://{bucket}.s3.{region}.amazonaws.com/{key}`.
        public var endpoint: String?
        /// Files larger than this are uploaded in parts.
        public var multipartThreshold: Int64
        /// The size of each part but the last; never below S3's minimum of 5 MiB.
        public var partSize: Int64
        /// The most attempts of one request, the first included.
        public var maxAttempts: Int
        /// The backoff ceiling of the first retry; it doubles for each later one.
        public var baseDelay: Duration
        /// How long a connection attempt may take.
        public var connectTimeout: TimeAmount
        /// How long a connection may stay silent while an answer is awaited or read.
        public var readTimeout: TimeAmount

        /// S3's smallest part size for every part but the last.
        public static let minimumPartSize: Int64 = 5 * 1024 * 1024

        /// Creates a configuration.
        public init(
            region: String, endpoint: String? = nil, multipartThreshold: Int64 = 16 * 1024 * 1024, partSize: Int64 = 8 * 1024 * 1024,
            maxAttempts: Int = 4, baseDelay: Duration = .milliseconds(100), connectTimeout: TimeAmount = .seconds(5),
            readTimeout: TimeAmount = .seconds(30)
        ) {
            self.region = region
            self.endpoint = endpoint
            self.multipartThreshold = multipartThreshold
            self.partSize = max(partSize, Self.minimumPartSize)
            self.maxAttempts = max(1, maxAttempts)
            self.baseDelay = baseDelay
            self.connectTimeout = connectTimeout
            self.readTimeout = readTimeout
        }

        /// The endpoint that the AWS SDKs' variables choose: `AWS_ENDPOINT_URL_S3`, then
        /// `AWS_ENDPOINT_URL`; `nil` for the region's own.
        public static func endpointOverride(in environment: [String: String]) -> String? {
            for name in ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"] {
                if let value = environment[name], !value.isEmpty { return value }
            }
            return nil
        }

        /// The part size actually used: ``partSize``, raised to the 5 MiB minimum.
        var effectivePartSize: Int64 { max(partSize, Self.minimumPartSize) }

        /// A random wait before retry number `retry` (1 for the first): full jitter up to
        /// `baseDelay × 2^(retry-1)`, at most 5 seconds.
        func delay(beforeRetry retry: Int) -> Duration {
            let ceiling = min(.seconds(5), baseDelay * (1 << min(max(retry - 1, 0), 16)))
            let nanoseconds = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
            return .nanoseconds(Int64.random(in: 0...max(0, nanoseconds)))
        }
    }
}
