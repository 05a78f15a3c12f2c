import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import StoreTestSupport
import Testing

@testable import WebhookApp

/// Which origins ``SameOriginPolicy`` lets through.
@Suite struct SameOriginPolicyTests {
    @Test func aRequestNamingNoOriginOrItsOwnIsAllowed() {
        #expect(SameOriginPolicy.allows(origin: nil, host: "webhooks.example.com", forwardedHost: nil))
        #expect(SameOriginPolicy.allows(origin: nil, host: nil, forwardedHost: nil))
        #expect(SameOriginPolicy.allows(origin: "http://127.0.0.1:8000", host: "127.0.0.1:8000", forwardedHost: nil))
        #expect(SameOriginPolicy.allows(origin: "https://Webhooks.Example.com", host: "webhooks.example.com", forwardedHost: nil))
        // A scheme's default port may be written or left out on either side.
        #expect(SameOriginPolicy.allows(origin: "http://example.com", host: "example.com:80", forwardedHost: nil))
        #expect(SameOriginPolicy.allows(origin: "https://example.com:443", host: "example.com", forwardedHost: nil))
        #expect(SameOriginPolicy.allows(origin: "http://[::1]:8000", host: "[::1]:8000", forwardedHost: nil))
        // WebSocket libraries (not browsers) send the URL they connect to as the origin.
        #expect(SameOriginPolicy.allows(origin: "ws://127.0.0.1", host: "127.0.0.1:8000", forwardedHost: nil))
        #expect(SameOriginPolicy.allows(origin: "wss://webhooks.example.com", host: "10.0.0.5", forwardedHost: nil))
        // Behind a proxy that passes on the host it was asked for.
        #expect(SameOriginPolicy.allows(origin: "https://inbox.example.com", host: "10.0.0.5:8000", forwardedHost: "inbox.example.com"))
        #expect(SameOriginPolicy.allows(origin: "https://inbox.example.com", host: "10.0.0.5:8000", forwardedHost: "inbox.example.com, 10.0.0.9"))
    }

    @Test func anyOtherOriginIsRefused() {
        let refused: [(String, String?)] = [
            ("http://evil.example", "webhooks.example.com"),
            ("http://127.0.0.1:8001", "127.0.0.1:8000"),  // another port is another origin
            ("http://127.0.0.1", "127.0.0.1:8000"),
            ("https://example.com", "example.com:80"),  // https's default port is 443
            ("null", "example.com"),  // a sandboxed frame, a file, a redirect chain
            ("", "example.com"),
            ("example.com", "example.com"),
            ("http://example.com/", "example.com"),
            ("http://user@example.com", "example.com"),
            ("ftp://example.com", "example.com"),
            ("chrome-extension://abcdef", "example.com"),
            ("file://", "example.com"),
            ("http://example.com.evil.example", "example.com"),
            ("http://evil.example", nil),
        ]
        for (origin, host) in refused {
            #expect(!SameOriginPolicy.allows(origin: origin, host: host, forwardedHost: nil), "\(origin) for \(host ?? "no host")")
        }
    }
}

/// `GET /` and its files: served only with credentials, with headers that keep the page to
/// its own origin and out of every cache.
@Suite struct ConsoleRouteTests {
    static let policy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    @Test func theConsoleNeedsCredentialsAndForbidsInlineScriptAndSharedCaches() async throws {
        try await withService(.sqlite, configure: { $0.auth.readerCredentials = readerCredentials }) { client, _, _ in
            let anonymous = try await client.execute(uri: "/", method: .get)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate]?.hasPrefix("Basic realm=") == true, "the browser's own prompt")
            #expect(!String(buffer: anonymous.body).contains("<html"))

            for (path, type) in [("/", "text/html"), ("/console/console.js", "text/javascript"), ("/console/console.css", "text/css")] {
                for headers in [readerAuthorization, validAuthorization] {
                    let response = try await client.execute(uri: path, method: .get, headers: headers)
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.headers[.contentType] == "\(type); charset=utf-8", "\(path)")
                    #expect(response.headers[.contentSecurityPolicy] == Self.policy, "\(path)")
                    #expect(response.headers[.cacheControl] == "no-store", "\(path)")
                    #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(path)")
                    #expect(response.headers[.xFrameOptions] == "DENY", "\(path)")
                    #expect(response.body.readableBytes > 500, "\(path)")
                }
                #expect(try await client.execute(uri: path, method: .get).status == .unauthorized, "\(path)")
            }
            let head = try await client.execute(uri: "/", method: .head, headers: readerAuthorization)
            #expect(head.status == .ok)
        }
    }

    @Test func thePageHasNoInlineScriptOrStyleForThePolicyToBlock() throws {
        let page = String(decoding: PackageResources.console_html, as: UTF8.self)
        // Every script comes from a file of this origin; no inline script, handler or style.
        let scripts = page.components(separatedBy: "<script").dropFirst()
        #expect(scripts.count == 1)
        #expect(scripts.allSatisfy { $0.hasPrefix(#" src="/console/"#) && $0.contains("></script>") })
        #expect(!page.contains(/\son[a-z]+\s*=/.ignoresCase()), "an inline event handler")
        #expect(!page.contains("<style") && !page.contains(" style="), "an inline style")
        #expect(!page.contains("javascript:"))
        let script = String(decoding: PackageResources.console_js, as: UTF8.self)
        // Message fields go into the page as text only.
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
            #expect(!script.contains(sink), "console.js uses \(sink)")
        }
    }
}

/// A browser holding the console's credentials sends them with any page's requests to this
/// host; requests that a page of another origin makes are refused, before their credentials.
@Suite struct CrossOriginTests {
    static let upgrade =
        "GET /webhook/stream HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\(HTTPFramingTests.credentials)\r\n%@\r\n"

    @Test func aPageOfAnotherOriginCannotOpenTheStream() async throws {
        try await withService(.sqlite, setup: .live) { client, _, logs in
            let port = try #require(client.port)
            let cases: [(String, String)] = [
                ("Origin: http://evil.example\r\n", "HTTP/1.1 403"),
                ("Origin: http://127.0.0.1:\(port + 1)\r\n", "HTTP/1.1 403"),
                ("Origin: null\r\n", "HTTP/1.1 403"),
                ("Origin: http://127.0.0.1:\(port)\r\n", "HTTP/1.1 101"),
                ("", "HTTP/1.1 101"),  // not a browser: no Origin
            ]
            for (origin, expected) in cases {
                let socket = try RawSocket(port: port)
                defer { socket.close() }
                try socket.send(String(format: Self.upgrade, port, origin))
                let (response, _) = await socket.receive(for: .seconds(expected.hasSuffix("101") ? 1 : 15))
                #expect(response.hasPrefix(expected), "\(origin): \(response.prefix(120))")
                if expected.hasSuffix("403") { #expect(response.contains(#""error":"cross_origin""#)) }
            }
            #expect(logs.lines.contains { $0.contains("Cross-origin request refused") })
        }
    }

    @Test func aFormOfAnotherOriginCannotDeliverAndIsNotCountedAsAFailure() async throws {
        try await withService(.sqlite, configure: { $0.auth.failureLimit = 1 }) { client, _, _ in
            var forged = validAuthorization
            forged[.origin] = "http://evil.example"
            forged[.contentType] = "text/plain"
            for _ in 0..<3 {
                let refused = try await client.postMessage(specExample(), headers: forged)
                #expect(refused.status == .forbidden)
                #expect(try refused.json()["error"] as? String == "cross_origin")
            }
            #expect(try await client.getMessages("QO-123456").json()["count"] as? Int == 0, "nothing stored")
            // Refused before the credentials were looked at: no lockout came of it.
            #expect(try await client.postMessage(specExample()).status == .ok)
        }
    }
}
