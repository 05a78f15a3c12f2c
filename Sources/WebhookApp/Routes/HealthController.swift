import Hummingbird
import JSON
import MessageStore

/// Unauthenticated probes for load balancers and orchestrators, and the API's description.
struct HealthController: Sendable {
    let store: any MessageStore

    func addRoutes(to router: Router<WebhookRequestContext>) {
        router.get("health", use: health)
        router.get("ready", use: ready)
        router.get("openapi.yaml", use: openAPIDocument)
    }

    /// `GET /openapi.yaml`: the OpenAPI 3.1 document of this API.
    @Sendable func openAPIDocument(request: Request, context: WebhookRequestContext) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
            body: .init(byteBuffer: Self.openAPIDocumentBytes)
        )
    }

    /// `Resources/openapi.yaml`, embedded at build time; one buffer shared by every answer.
    private static let openAPIDocumentBytes = ByteBuffer(bytes: PackageResources.openapi_yaml)

    /// `GET /health`: 200 while the process serves HTTP.
    @Sendable func health(request: Request, context: WebhookRequestContext) async throws -> ProbeResponse {
        ProbeResponse(status: "ok")
    }

    /// `GET /ready`: 200 when the store answers, 503 when it does not.
    @Sendable func ready(request: Request, context: WebhookRequestContext) async throws -> ProbeResponse {
        try await store.checkReadiness()
        return ProbeResponse(status: "ready")
    }
}

/// The body of a probe's answer.
struct ProbeResponse: JSONWritable, Equatable {
    var status: String

    func write(to writer: inout JSONWriter) {
        writer.object { $0.field("status", status) }
    }
}
