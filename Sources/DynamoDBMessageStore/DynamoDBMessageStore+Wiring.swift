import AsyncHTTPClient
import AWSSigning
import CoreMetrics
import DynamoDB
import Logging
import MessageStore

extension DynamoDBMessageStore {
    /// Where the table is and how to reach it, as an operator configures it. The store owns
    /// its wiring (client, endpoint override, credential chain), so the HTTP service and the
    /// command line need nothing of the DynamoDB client.
    public struct Settings: Sendable, Hashable {
        /// `DYNAMODB_TABLE`.
        public var tableName: String
        /// `AWS_REGION`, such as `us-east-1`.
        public var region: String
        /// An endpoint other than the region's (a local moto server, say), or `nil`. It wins
        /// over ``useFIPSEndpoint`` and ``useDualStackEndpoint``.
        public var endpoint: String?
        /// `AWS_USE_FIPS_ENDPOINT`: the region's FIPS endpoint (`dynamodb-fips.{region}.…`).
        public var useFIPSEndpoint: Bool
        /// `AWS_USE_DUALSTACK_ENDPOINT`: the region's dual-stack endpoint (IPv4 and IPv6,
        /// `dynamodb.{region}.api.aws`).
        public var useDualStackEndpoint: Bool
        /// The `AWS_*` variables (and `HOME`) that the credential chain reads.
        public var awsEnvironment: [String: String]
        /// The service's own secrets (its variables' names), which a `credential_process`
        /// program never sees.
        public var withheldVariables: Set<String>

        /// Creates settings.
        public init(
            tableName: String, region: String, endpoint: String? = nil, useFIPSEndpoint: Bool = false, useDualStackEndpoint: Bool = false,
            awsEnvironment: [String: String] = [:], withheldVariables: Set<String> = []
        ) {
            self.tableName = tableName
            self.region = region
            self.endpoint = endpoint
            self.useFIPSEndpoint = useFIPSEndpoint
            self.useDualStackEndpoint = useDualStackEndpoint
            self.awsEnvironment = awsEnvironment
            self.withheldVariables = withheldVariables
        }

        /// The URL the store's client sends to: ``endpoint`` when set, else the region's own
        /// (FIPS, dual-stack or both as chosen), as the AWS SDKs' endpoint rules build it.
        public var endpointURL: String {
            endpoint ?? DynamoDBEndpoint(useFIPS: useFIPSEndpoint, useDualStack: useDualStackEndpoint).url(region: region)
        }

        /// Where ``region`` came from, for the start-up log: `AWS_REGION`, `AWS_DEFAULT_REGION`,
        /// `profile NAME` or `default` when ``awsEnvironment`` chooses it (see
        /// ``AWSRegion/resolve(environment:)``), `configured` when it was set otherwise.
        public var regionSource: String {
            let resolved = AWSRegion.resolve(environment: awsEnvironment)
            return resolved.name == region ? resolved.source.description : "configured"
        }

        /// The endpoint that the AWS SDKs' variables choose: `AWS_ENDPOINT_URL_DYNAMODB`, then
        /// `AWS_ENDPOINT_URL`; `nil` for the region's own.
        public static func endpointOverride(in environment: [String: String]) -> String? {
            DynamoDBClient.Configuration.endpointOverride(in: environment)
        }
    }

    /// A client for the settings' region and endpoint, with credentials from the AWS SDKs'
    /// chain (cached, and refreshed before temporary credentials expire). Its owner shuts it down.
    /// - Parameter metricsFactory: Where the client counts its retries and throttled answers.
    /// - Throws: ``DynamoDBError`` when the endpoint is not an http or https URL.
    public static func makeClient(
        _ settings: Settings, metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance, logger: Logger
    ) throws -> DynamoDBClient {
        let chain = CredentialProviderChain.default(
            environment: settings.awsEnvironment, httpClient: HTTPCredentialClient(httpClient: .shared),
            withheldFromProcesses: settings.withheldVariables, logger: logger
        )
        return try DynamoDBClient(
            configuration: .init(region: settings.region, endpoint: settings.endpointURL, metricsFactory: metricsFactory),
            credentialProvider: CachingCredentialProvider(chain, logger: logger), logger: logger
        )
    }

    /// Opens the store over a client of its own. It starts even while the table does not
    /// answer: requests answer 503 until it does, and `/ready` says so.
    /// - Parameter metricsFactory: Where its client counts retries and throttled answers.
    /// - Throws: ``DynamoDBError`` when the endpoint is not an http or https URL.
    public static func open(
        _ settings: Settings, feedRetention: FeedRetention = .default, metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance,
        logger: Logger
    ) async throws -> DynamoDBMessageStore {
        logger.info("AWS region", metadata: ["region": .string(settings.region), "region_source": .string(settings.regionSource)])
        let store = DynamoDBMessageStore(
            configuration: .init(tableName: settings.tableName, feedRetention: feedRetention),
            client: try makeClient(settings, metricsFactory: metricsFactory, logger: logger),
            logger: logger
        )
        do {
            try await store.checkReadiness()
            logger.info("DynamoDB store ready", metadata: ["table": .string(settings.tableName), "region": .string(settings.region)])
            if try await store.lacksOrdersIndex() {
                logger.warning(
                    "DynamoDB table has no orders index: GET /webhook/orders fails until create-table adds it and backfills order summaries",
                    metadata: ["table": .string(settings.tableName), "index": .string(OrdersIndex.name)]
                )
            }
        } catch {
            logger.warning("DynamoDB table is not ready", metadata: ["table": .string(settings.tableName), "error": .string("\(error)")])
        }
        return store
    }
}
