import HTTPTypes
import Hummingbird

extension Router {
    /// The methods answered `405` on a path that other methods serve.
    static var answeredMethods: [HTTPRequest.Method] { [.get, .head, .post, .put, .patch, .delete, .options, .trace] }

    /// Answers `405 Method Not Allowed`, with `Allow`, for every standard method that none of
    /// a path's routes take; call it once every route is added. (`HEAD` is served wherever
    /// `GET` is; see `autoGenerateHeadEndpoints`.)
    func addMethodNotAllowedResponders() {
        for (path, routes) in Dictionary(grouping: routes, by: { $0.path.description }) {
            var allowed = routes.map(\.method)
            if allowed.contains(.get) && !allowed.contains(.head) { allowed.append(.head) }
            let error = WebhookError.methodNotAllowed(allowed: allowed)
            for method in Self.answeredMethods where !allowed.contains(method) {
                on(RouterPath(path), method: method) { _, _ -> Response in throw error }
            }
        }
    }
}
