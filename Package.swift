// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "qualia-webhook",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "qualia-webhook", targets: ["QualiaWebhook"]),
        .library(name: "WebhookApp", targets: ["WebhookApp"]),
        .library(name: "MessageStore", targets: ["MessageStore"]),
        .library(name: "SQLiteMessageStore", targets: ["SQLiteMessageStore"]),
        .library(name: "AWSSigning", targets: ["AWSSigning"]),
        .library(name: "DynamoDB", targets: ["DynamoDB"]),
        .library(name: "Blobs", targets: ["Blobs"]),
        .library(name: "S3", targets: ["S3"]),
        .library(name: "S3BlobStore", targets: ["S3BlobStore"]),
    ],
    dependencies: [
        // No default traits: swift-configuration is not used (our `.env` reader strips quotes).
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        // The live stream (`/webhook/stream`), and its client in `send-test --watch` and the tests.
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // Metrics: the API our modules record through, and its Prometheus back end (`GET /metrics`).
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // HTTPS (issue 16): TLS from swift-nio-ssl and HTTP/2 by ALPN, both already built for
        // Hummingbird's and AsyncHTTPClient's sake.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    ],
    targets: [
        // The system's SQLite (Debian: libsqlite3-dev).
        .systemLibrary(
            name: "CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The system's zlib (Debian: zlib1g-dev), for its CRC32 of DynamoDB's answers. The
        // binary links it already (the WebSocket compression of hummingbird-websocket).
        .systemLibrary(
            name: "CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // JSON values and a strict, fast parser for them (request bodies, stored attachments).
        .target(name: "JSON", swiftSettings: swiftSettings),
        // The store seam: the domain item, the `MessageStore` protocol and the delivery rules.
        // It links no storage technology; the stores sit side by side on it.
        .target(name: "MessageStore", dependencies: ["JSON"], swiftSettings: swiftSettings),
        // The embedded store: one SQLite file, group commit, a checkpointer, streamed reads.
        .target(
            name: "SQLiteMessageStore",
            dependencies: [
                "CSQLite",
                "JSON",
                "MessageStore",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // What every AWS client of ours shares: the SigV4 signer, the credential providers and
        // their chain, and the task-local deadline that credential fetches honour.
        .target(
            name: "AWSSigning",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // A small DynamoDB client of our own (JSON 1.0 protocol, retries) on AWSSigning,
        // knowing nothing of webhooks.
        .target(
            name: "DynamoDB",
            dependencies: [
                "AWSSigning",
                "CZlib",
                "JSON",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The DynamoDB store: the spec's items on the DynamoDB client, behind `MessageStore`.
        .target(
            name: "DynamoDBMessageStore",
            dependencies: [
                "AWSSigning", "DynamoDB", "MessageStore", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Archived attachment files: the blob store seam and its local-folder store.
        .target(
            name: "Blobs",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // A small S3 client of our own (streamed and multipart uploads, ranged streamed reads),
        // knowing nothing of attachments.
        .target(
            name: "S3",
            dependencies: [
                "AWSSigning",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Archived attachment files in an S3 bucket, behind the blob store seam.
        .target(name: "S3BlobStore", dependencies: ["Blobs", "S3", .product(name: "NIOCore", package: "swift-nio")], swiftSettings: swiftSettings),
        // The HTTP service: configuration, routes, validation, auth, errors, logging.
        .target(
            name: "WebhookApp",
            dependencies: [
                "AWSSigning",
                "JSON",
                "MessageStore",
                "SQLiteMessageStore",
                "DynamoDBMessageStore",
                "Blobs",
                "S3",
                "S3BlobStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // Compiled into the binary (`PackageResources.openapi_yaml`, `.console_html`, …), so
            // the server needs no resource files beside it and what it serves is always the file
            // in the repository.
            resources: [
                .embedInCode("Resources/openapi.yaml"),
                .embedInCode("Resources/console.html"),
                .embedInCode("Resources/console.js"),
                .embedInCode("Resources/console.css"),
                .embedInCode("Resources/console-icon.svg"),
            ],
            swiftSettings: swiftSettings
        ),
        // The spec's test script (`send-test`) as a client of a running server: the
        // command-line front runs it, and the live-server tests run it in process.
        .target(
            name: "SendTest",
            dependencies: [
                "JSON",
                "MessageStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The thin command-line front: argument parsing only.
        .executableTarget(
            name: "QualiaWebhook",
            dependencies: [
                "WebhookApp",
                "SendTest",
                "DynamoDB",
                "DynamoDBMessageStore",
                "SQLiteMessageStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fixtures shared by the test targets: temporary folders, the stores under test, a scripted DynamoDB endpoint.
        .target(
            name: "StoreTestSupport",
            dependencies: [
                "MessageStore", "SQLiteMessageStore", "AWSSigning", "DynamoDB", "DynamoDBMessageStore", .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/StoreTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "JSONTests", dependencies: ["JSON"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MessageStoreTests",
            dependencies: ["MessageStore", "SQLiteMessageStore", "StoreTestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DynamoDBTests",
            dependencies: [
                "AWSSigning", "DynamoDB", "DynamoDBMessageStore", "JSON", "MessageStore", "StoreTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "S3Tests",
            dependencies: [
                "AWSSigning", "Blobs", "S3", "S3BlobStore", "StoreTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WebhookAppTests",
            dependencies: [
                "JSON",
                "WebhookApp",
                "MessageStore",
                "SQLiteMessageStore",
                "AWSSigning",
                "DynamoDB",
                "DynamoDBMessageStore",
                "SendTest",
                "Blobs",
                "S3",
                "S3BlobStore",
                "StoreTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
