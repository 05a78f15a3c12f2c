import Hummingbird
import Logging
import MessageStore
import NIOCore

/// The one place where errors become HTTP answers: whatever a route throws leaves as a
/// ``WebhookError``'s JSON body. Unexpected errors are logged and answered 500 without detail.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try Self.webhookError(for: error, logger: context.logger).response(from: request, context: context)
        }
    }

    static func webhookError(for error: any Error, logger: Logger) -> WebhookError {
        switch error {
        case let error as WebhookError:
            return error
        case let failure as ValidationFailure:
            return .validationFailed(failure.fields)
        case is NIOTooManyBytesError:
            return .payloadTooLarge(limit: nil)
        case let error as MessageStoreError:
            // Whatever the store's failure, nothing was stored and a later retry may succeed
            // (a full disk is freed, a permission fixed): 503 + Retry-After, never 500.
            logger.error("Message store failed", metadata: ["error": .string(error.description)])
            return .storeUnavailable
        case let error as HTTPError:
            switch error.status {
            case .notFound: return .notFound
            case .contentTooLarge: return .payloadTooLarge(limit: nil)
            case .methodNotAllowed:
                return WebhookError(status: .methodNotAllowed, code: "method_not_allowed", message: "This endpoint does not allow that method.")
            case let status where (400..<500).contains(status.code):
                return WebhookError(status: status, code: "bad_request", message: WebhookError.badRequest.message)
            default:
                logger.error("Request failed", metadata: ["error": .string(String(describing: error))])
                return .internalError
            }
        default:
            logger.error("Request failed", metadata: ["error": .string(String(describing: error))])
            return .internalError
        }
    }
}
