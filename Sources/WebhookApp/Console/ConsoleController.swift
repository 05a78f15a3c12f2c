import HTTPTypes
import Hummingbird
import NIOCore

/// The browser console: `GET /` and its script and style sheet, compiled into the binary
/// (`Resources/console*`), behind the same credentials as the reader's API.
///
/// The page is plain HTML, CSS and JavaScript of our own that reads the API the way any
/// client does. Every answer forbids inline script, other origins and framing
/// (``ConsoleAsset/securityHeaders``) and is never stored by any cache, so a shared
/// cache cannot hand one user's page to another.
struct ConsoleController: Sendable {
    func addRoutes(to group: RouterGroup<WebhookRequestContext>) {
        group.get("/") { _, _ in ConsoleAsset.page.response }
        group.get("console/console.js") { _, _ in ConsoleAsset.script.response }
        group.get("console/console.css") { _, _ in ConsoleAsset.styleSheet.response }
        group.get("console/icon.svg") { _, _ in ConsoleAsset.icon.response }
    }
}

/// One of the console's files and how it is served.
struct ConsoleAsset: Sendable {
    /// The file, compiled into the binary.
    let bytes: ByteBuffer
    /// Its `Content-Type`.
    let contentType: String

    static let page = ConsoleAsset(bytes: ByteBuffer(bytes: PackageResources.console_html), contentType: "text/html; charset=utf-8")
    static let script = ConsoleAsset(bytes: ByteBuffer(bytes: PackageResources.console_js), contentType: "text/javascript; charset=utf-8")
    static let styleSheet = ConsoleAsset(bytes: ByteBuffer(bytes: PackageResources.console_css), contentType: "text/css; charset=utf-8")
    static let icon = ConsoleAsset(bytes: ByteBuffer(bytes: PackageResources.console_icon_svg), contentType: "image/svg+xml")

    /// What a browser may do with the console's files:
    /// - scripts, styles and images from this origin only (no inline script or style, no
    ///   `eval`), and connections (`fetch`, the WebSocket) to this origin only;
    /// - no plugins, no `<base>`, no form posting anywhere, no framing by any page;
    /// - nothing sniffed, no referrer sent, no window of another origin kept as opener;
    /// - `no-store`: no cache, shared or private, keeps a copy.
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        .cacheControl: "no-store",
        .xContentTypeOptions: "nosniff",
        .referrerPolicy: "no-referrer",
        .xFrameOptions: "DENY",
        .crossOriginOpenerPolicy: "same-origin",
        .crossOriginResourcePolicy: "same-origin",
    ]

    /// The file with its content type and ``securityHeaders``.
    var response: Response {
        var headers = Self.securityHeaders
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: bytes))
    }
}

extension HTTPField.Name {
    /// `Referrer-Policy`: what a followed link tells the next site about this page.
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    /// `X-Frame-Options`: framing, for browsers older than `frame-ancestors`.
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    /// `Cross-Origin-Opener-Policy`: whether a window of another origin keeps a handle on this one.
    static let crossOriginOpenerPolicy = HTTPField.Name("Cross-Origin-Opener-Policy")!
    /// `Cross-Origin-Resource-Policy`: whether pages of other origins may embed these files.
    static let crossOriginResourcePolicy = HTTPField.Name("Cross-Origin-Resource-Policy")!
}
