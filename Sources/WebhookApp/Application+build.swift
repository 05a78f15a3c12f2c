import DynamoDBMessageStore
import HTTPTypes
import Hummingbird
import Logging
import MessageStore
import SQLiteMessageStore

/// Builds the whole service from its configuration: opens the configured store and returns
/// the application, ready to run. The executable and the tests both call this.
/// - Throws: ``MessageStoreError`` when the store cannot be opened.
public func buildApplication(_ configuration: AppConfiguration, logger: Logger) async throws -> some ApplicationProtocol {
    let store = try await openStore(configuration, logger: logger)
    return buildApplication(configuration, store: store, logger: logger)
}

/// Builds the service over a store that is already open. The application owns the store
/// from then on and shuts it down after the HTTP server has stopped.
public func buildApplication(_ configuration: AppConfiguration, store: any MessageStore, logger: Logger) -> some ApplicationProtocol {
    let router = Router(context: WebhookRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: AccessLogMiddleware())
    router.add(middleware: ExpectContinueMiddleware())
    router.add(middleware: ErrorMiddleware())

    HealthController(store: store).addRoutes(to: router)
    let auth = configuration.auth
    let limiter = AuthFailureLimiter(policy: .init(limit: auth.failureLimit, window: auth.failureWindow, lockout: auth.lockout))
    let webhook = router.group("webhook")
        .add(
            middleware: BasicAuthMiddleware(
                verifier: CredentialVerifier(granting: auth.accessGrants),
                limiter: limiter,
                clientAddressHeader: auth.clientAddressHeader.flatMap { HTTPField.Name($0) }
            )
        )
    let reader = ReaderController(store: store, maxBodyBytes: configuration.http.maxBodyBytes)
    MessageController(
        store: store, maxBodyBytes: configuration.http.maxBodyBytes, listingCache: ListingCache(capacity: configuration.http.listingCacheBytes),
        reader: reader
    ).addRoutes(to: webhook)
    reader.addRoutes(to: webhook)
    router.addMethodNotAllowedResponders()

    return Application(
        router: router,
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [HTTPConnectionGuard(logger: logger)],
                // From the last byte read or answer written; so a client that sends nothing,
                // half a head or half a body is cut off, while a steady upload is not.
                idleTimeout: .seconds(Int64(configuration.http.idleTimeout.components.seconds))
            )
        ),
        configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "qualia-webhook"),
        // Services stop in reverse order: the server drains first, then the store closes.
        services: [MessageStoreService(store: store, logger: logger)],
        logger: logger
    )
}

/// Opens the store that the configuration selects.
/// - Throws: ``MessageStoreError`` when it cannot be opened.
public func openStore(_ configuration: AppConfiguration, logger: Logger) async throws -> any MessageStore {
    switch configuration.store {
    case .sqlite(let path):
        return try await SQLiteMessageStore.open(.init(path: path), logger: logger)
    case .dynamoDB(let settings):
        return try await DynamoDBMessageStore.open(settings, logger: logger)
    }
}
