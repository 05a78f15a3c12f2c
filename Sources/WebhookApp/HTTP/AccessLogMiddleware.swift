import Hummingbird
import Logging

/// Logs one line per request once its answer is ready: method, path, status and time taken.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = WebhookRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        context.logger.info(
            "Request completed",
            metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "status": .stringConvertible(response.status.code),
                "response_time_ms": .stringConvertible(context.elapsedMilliseconds),
            ]
        )
        return response
    }
}
