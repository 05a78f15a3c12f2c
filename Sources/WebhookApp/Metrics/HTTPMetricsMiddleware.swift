import CoreMetrics
import Hummingbird
import Synchronization

/// Counts every request and records how long it took, by route template, method and status
/// (``MetricName/httpRequests``, ``MetricName/httpRequestDuration``).
///
/// It sits ahead of ``ErrorMiddleware`` in the chain, so it sees the status that the client
/// gets, errors thrown by later middleware (401, 429, 400) included. The route is the
/// template that matched (`/webhook/messages/{order_id}`), never the path, so the number of
/// series stays bounded; a path that matches no route is `unmatched`. The time is from the
/// request's head arriving until the answer's head is ready, as the access log's
/// `response_time_ms` (a streamed body's transfer is not included).
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = WebhookRequestContext

    let series: HTTPRequestSeries

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = context.receivedAt
        do {
            let response = try await next(request, context)
            series.record(route: context.endpointPath, method: request.method, status: response.status.code, since: start)
            return response
        } catch {
            // Only what escapes the error middleware behind us: Hummingbird answers it by its
            // status, or 500.
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            series.record(route: context.endpointPath, method: request.method, status: status, since: start)
            throw error
        }
    }
}

/// The request counters and latency histograms, one pair per route, method and status,
/// made the first time each is seen and found again in a dictionary after that.
final class HTTPRequestSeries: Sendable {
    /// One series' labels.
    private struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    /// One label set's counter and histogram.
    private struct Series: Sendable {
        var requests: Counter
        var duration: CoreMetrics.Timer
    }

    /// The route label of a request that matched no route.
    static let unmatchedRoute = "unmatched"

    private let factory: any MetricsFactory
    private let series = Mutex<[Key: Series]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// Counts one request and records its time since `start`.
    func record(route: String?, method: HTTPRequest.Method, status: Int, since start: ContinuousClock.Instant) {
        let key = Key(route: Self.routeLabel(route), method: Self.methodLabel(method), status: status)
        let found = series.withLock { series in
            if let found = series[key] { return found }
            let dimensions = [("route", key.route), ("method", key.method), ("status", String(key.status))]
            let made = Series(
                requests: Counter(label: MetricName.httpRequests, dimensions: dimensions, factory: factory),
                duration: CoreMetrics.Timer(label: MetricName.httpRequestDuration, dimensions: dimensions, factory: factory)
            )
            series[key] = made
            return made
        }
        found.requests.increment()
        found.duration.recordElapsed(since: start)
    }

    /// The matched route's template; Hummingbird names an unmatched one `NotFound`.
    static func routeLabel(_ endpointPath: String?) -> String {
        guard let endpointPath, endpointPath != "NotFound" else { return unmatchedRoute }
        return endpointPath
    }

    /// The method, when it is one of HTTP's own; any other a client invents is `other`, so
    /// clients cannot add series at will.
    static func methodLabel(_ method: HTTPRequest.Method) -> String {
        switch method {
        case .get, .head, .post, .put, .patch, .delete, .options, .connect, .trace: method.rawValue
        default: "other"
        }
    }
}
