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
                // At most 1 KiB: a path may be as long as the request head allows (80 KiB).
                "path": .string(String(decoding: request.uri.path.utf8.prefix(1024), as: UTF8.self)),
                "status": .stringConvertible(response.status.code),
                "response_time_ms": .stringConvertible(context.elapsedMilliseconds),
            ]
        )
        return response
    }
}
