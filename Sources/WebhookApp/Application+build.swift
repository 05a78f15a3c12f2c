import AWSSigning
import AsyncHTTPClient
import HummingbirdHTTP2
import Blobs
import CoreMetrics
import DynamoDBMessageStore
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOHTTP1
import S3
import S3BlobStore
import MessageStore
import SQLiteMessageStore
import ServiceLifecycle

/// Builds the whole service from its configuration: opens the configured stores and returns
/// the application, ready to run. The executable and the tests both call this.
/// - Throws: ``MessageStoreError`` when the store cannot be opened; an error of the S3 client
///   when the attachment archive's endpoint is not a URL.
/// - Parameter metrics: Where the service records its metrics; `nil` for a registry of its own
///   as the configuration says.
/// - Parameter tls: HTTPS with this reloader's certificate (``TLSCertificateLoader`` checked it
///   at start); `nil` for plain HTTP.
public func buildApplication(
    _ configuration: AppConfiguration, metrics: ServiceMetrics? = nil, tls: TLSReloader? = nil, logger: Logger
) async throws -> some ApplicationProtocol {
    let metrics = metrics ?? ServiceMetrics(configuration.metrics)
    let store = try await openStore(configuration, metricsFactory: metrics.factory, logger: logger)
    let blobs: any BlobStore
    do {
        blobs = try openBlobStore(configuration.attachments, logger: logger)
    } catch {
        try? await store.shutdown()
        throw error
    }
    return buildApplication(configuration, store: store, blobs: blobs, metrics: metrics, tls: tls, logger: logger)
}

/// Builds the service over a store that is already open. The application owns the store
/// from then on and shuts it down after the HTTP server has stopped.
/// - Parameters:
///   - store: The store, which records its own metrics (if any) where it was opened to; every
///     call the service makes to it is counted and timed here as well.
///   - blobs: The attachment archive's blob store; `nil` for a local one in the
///     configuration's folder.
///   - metrics: Where the service records its metrics; `nil` for a registry of its own as the
///     configuration says.
///   - tls: HTTPS (HTTP/2 and HTTP/1.1 by ALPN) with this reloader's certificate, which runs
///     among the services to follow renewals; `nil` for plain HTTP.
public func buildApplication(
    _ configuration: AppConfiguration, store: any MessageStore, blobs: (any BlobStore)? = nil, metrics: ServiceMetrics? = nil,
    tls: TLSReloader? = nil, logger: Logger
) -> some ApplicationProtocol {
    let metrics = metrics ?? ServiceMetrics(configuration.metrics)
    let store: any MessageStore = metrics.registry == nil ? store : MeteredMessageStore(store, factory: metrics.factory)
    let blobs = blobs ?? LocalBlobStore(root: configuration.attachments.folder)
    let router = Router(context: WebhookRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: RequestIDMiddleware())
    let requests = metrics.registry == nil ? nil : HTTPRequestSeries(factory: metrics.factory)
    if let requests {
        // Ahead of the error middleware, so it counts the status the client gets.
        router.add(middleware: HTTPMetricsMiddleware(series: requests))
    }
    router.add(middleware: AccessLogMiddleware())
    router.add(middleware: ExpectContinueMiddleware())
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: SameOriginMiddleware())

    HealthController(store: store).addRoutes(to: router)
    let auth = configuration.auth
    let limiter = AuthFailureLimiter(policy: .init(limit: auth.failureLimit, window: auth.failureWindow, lockout: auth.lockout))
    let authentication = BasicAuthMiddleware(
        verifier: CredentialVerifier(granting: auth.accessGrants),
        limiter: limiter,
        clientAddressHeader: auth.clientAddressHeader.flatMap { HTTPField.Name($0) },
        metrics: AuthMetrics(factory: metrics.factory)
    )
    if let registry = metrics.registry {
        let controller = MetricsController(registry: registry)
        if metrics.isPublic {
            controller.addRoutes(to: router)
        } else {
            controller.addRoutes(to: router.group().add(middleware: authentication))
        }
    }
    let webhook = router.group("webhook").add(middleware: authentication)
    let doorbell = FeedDoorbell()
    let archiveBell = configuration.attachments.isArchiving ? FeedDoorbell() : nil
    let hub = FeedHub(
        limits: .init(capacity: 4 * configuration.feed.maximumSubscriberLag, maximumLag: Int64(configuration.feed.maximumSubscriberLag)),
        metricsFactory: metrics.factory
    )
    let reader = ReaderController(store: store, maxBodyBytes: configuration.http.maxBodyBytes, doorbell: doorbell)
    MessageController(
        store: store, maxBodyBytes: configuration.http.maxBodyBytes, listingCache: ListingCache(capacity: configuration.http.listingCacheBytes),
        reader: reader, doorbell: doorbell, archiveBell: archiveBell
    ).addRoutes(to: webhook)
    reader.addRoutes(to: webhook)
    FeedController(store: store, hub: hub, retention: configuration.feed.retention).addRoutes(to: webhook)
    SearchController(store: store).addRoutes(to: webhook)
    AttachmentController(store: store, blobs: blobs).addRoutes(to: webhook)
    ConsoleController().addRoutes(to: router.group().add(middleware: authentication))
    router.addMethodNotAllowedResponders()

    // Upgrade requests are offered to this router first (see ``FeedStreamRoutes``).
    let streamRouter = Router(context: StreamRequestContext.self)
    let stream = FeedStreamRoutes(
        store: store, hub: hub, doorbell: doorbell, auth: authentication, retention: configuration.feed.retention, requests: requests
    )
    stream.addRoutes(to: streamRouter)

    return Application(
        router: router,
        server: upgradableHTTP1(
            configuration: .init(
                http1: .init(
                    additionalChannelHandlers: [HTTPConnectionGuard(logger: logger)],
                    // From the last byte read or answer written; so a client that sends nothing,
                    // half a head or half a body is cut off, while a steady upload is not.
                    idleTimeout: .seconds(Int64(configuration.http.idleTimeout.components.seconds))
                ),
                // One frame per event, however large the message (a text of 200 KB escaped).
                // The default pings every 30 s, which keeps proxies from closing a quiet stream.
                ws: .init(maxFrameSize: 4 * 1024 * 1024)
            ),
            webSocketRouter: streamRouter, admitsUpgrade: stream.admitsUpgrade, idleTimeout: configuration.http.idleTimeout,
            shutdownTimeout: configuration.http.shutdownTimeout, tls: tls, logger: logger
        ),
        configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "qualia-webhook"),
        // Services stop in reverse order: the server drains first, then the archiver, the
        // feed's follower and pruner, then the store closes.
        services: [
            MessageStoreService(store: store, logger: logger),
            FeedFollower(store: store, hub: hub, doorbell: doorbell, lag: CoreMetrics.Timer(label: MetricName.feedLag, factory: metrics.factory), logger: logger),
            FeedPruner(store: store, logger: logger),
        ] + archiver(configuration.attachments, store: store, blobs: blobs, bell: archiveBell, metricsFactory: metrics.factory, logger: logger)
            + (tls.map { [$0 as any Service] } ?? []),
        logger: logger
    )
}

/// The attachment archiver, when archiving is on.
private func archiver(
    _ settings: AppConfiguration.Attachments, store: any MessageStore, blobs: any BlobStore, bell: FeedDoorbell?,
    metricsFactory: any MetricsFactory, logger: Logger
) -> [any Service] {
    guard let bell else { return [] }
    let fetcher = AttachmentFetcher(policy: settings.allowedHosts, limits: settings.limits, scratchFolder: LocalBlobStore.scratchFolder(of: settings.folder))
    return [
        AttachmentArchiver(
            store: store, blobs: blobs, fetcher: fetcher, bell: bell, settings: settings.archiver,
            metrics: ArchiveMetrics(factory: metricsFactory), logger: logger
        )
    ]
}

/// The attachment archive's blob store that the configuration selects. It touches nothing
/// until used: the archiver prepares its folders when it starts. An S3 store shares the
/// process's HTTP client pool (`HTTPClient.shared`), so it needs no shutdown.
/// - Throws: an error of the S3 client when its endpoint is not a URL.
public func openBlobStore(_ settings: AppConfiguration.Attachments, logger: Logger) throws -> any BlobStore {
    switch settings.store {
    case .local:
        return LocalBlobStore(root: settings.folder)
    case .s3(let s3):
        let resolved = AWSRegion.resolve(environment: s3.awsEnvironment)
        logger.info(
            "AWS region for the attachment archive",
            metadata: ["region": .string(s3.region), "region_source": .string(resolved.name == s3.region ? resolved.source.description : "configured")]
        )
        let client = try S3Client(
            region: s3.region, environment: s3.awsEnvironment, httpClient: .shared, withheldFromProcesses: s3.withheldVariables, logger: logger
        )
        return S3BlobStore(client: client, bucket: s3.bucket)
    }
}

/// Opens the store that the configuration selects.
/// - Parameter metricsFactory: Where the store records its own metrics (SQLite's group-commit
///   batch sizes, DynamoDB's retries and throttles).
/// - Throws: ``MessageStoreError`` when it cannot be opened.
public func openStore(
    _ configuration: AppConfiguration, metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance, logger: Logger
) async throws -> any MessageStore {
    switch configuration.store {
    case .sqlite(let path):
        return try await SQLiteMessageStore.open(
            .init(path: path, feedRetention: configuration.feed.retention, metricsFactory: metricsFactory), logger: logger
        )
    case .dynamoDB(let settings):
        return try await DynamoDBMessageStore.open(settings, feedRetention: configuration.feed.retention, metricsFactory: metricsFactory, logger: logger)
    }
}

/// HTTP/1.1 with WebSocket upgrades offered to `webSocketRouter`, guarded from the first byte
/// (see ``UpgradableHTTPChannel``); with `tls`, behind TLS with HTTP/2 offered by ALPN, and a
/// handshake that must finish within the idle timeout. An HTTP/2 connection that is idle, or
/// being closed for a shutdown, is closed after its client acknowledges the GOAWAY, or after
/// `shutdownTimeout` if it never does (HTTP/2's own close would otherwise wait for ever). Its
/// streams' responses lose the HTTP/1.1 connection fields HTTP/2 forbids.
private func upgradableHTTP1(
    configuration: HTTP1WebSocketUpgradeChannel.Configuration, webSocketRouter: Router<StreamRequestContext>,
    admitsUpgrade: @escaping @Sendable (HTTPRequestHead, String?) -> Bool, idleTimeout: Duration, shutdownTimeout: Duration, tls: TLSReloader?,
    logger: Logger
) -> HTTPServerBuilder {
    let webSocketResponder = webSocketRouter.buildResponder()
    return HTTPServerBuilder { responder in
        let http1 = UpgradableHTTPChannel(
            inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder, configuration: configuration),
            idleTimeout: idleTimeout, admitsUpgrade: admitsUpgrade, logger: logger
        )
        guard let tls else { return http1 }
        return SecureHTTPChannel(
            contexts: tls.contexts, http1: http1,
            http2: HTTP2Channel(
                responder: responder,
                configuration: .init(
                    idleTimeout: idleTimeout, gracefulCloseTimeout: shutdownTimeout,
                    streamConfiguration: .init(additionalChannelHandlers: [HTTP2ConnectionFieldFilter()], idleTimeout: configuration.http1.idleTimeout)
                )
            ),
            handshakeTimeout: idleTimeout, http2CloseTimeout: shutdownTimeout, metrics: tls.metrics
        )
    }
}
