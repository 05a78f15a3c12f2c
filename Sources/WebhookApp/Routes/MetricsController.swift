import Hummingbird
import Prometheus

/// `GET /metrics`: the service's metrics in Prometheus' text exposition format, for a
/// Prometheus server to scrape. Served only while metrics are on; it needs the webhook's or
/// the reader's credentials unless `METRICS_PUBLIC=true` (the caller decides by the router it
/// adds the route to).
struct MetricsController: Sendable {
    let registry: PrometheusCollectorRegistry

    func addRoutes(to router: some RouterMethods<WebhookRequestContext>) {
        router.get("metrics", use: metrics)
    }

    /// Every series the registry holds, written out now.
    @Sendable func metrics(request: Request, context: WebhookRequestContext) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
        )
    }
}
