import Blobs
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MessageStore
import NIOCore
import StoreTestSupport
import Testing

@testable import WebhookApp

/// Issue 14 over HTTP: attachments archived after their message is stored, served from the
/// archive, and the SSRF rules; on both message stores, with the local blob store.
@Suite struct AttachmentArchiveTests {
    /// A message whose attachments are `urls`, as `ATT-1`, `ATT-2`, ….
    static func payload(order: String, id: String = "MSG-1", urls: [String], timestamp: String = "2025-10-28T10:30:00Z") -> [String: Any] {
        var payload = specExample()
        payload["order_id"] = order
        payload["message_id"] = id
        payload["timestamp"] = timestamp
        payload["attachments"] = urls.enumerated().map { index, url in
            ["_id": "ATT-\(index + 1)", "name": "Closing \"disclosure\" \(index + 1).pdf", "url": url, "tag": "contract"]
        }
        return payload
    }

    /// Runs `body` with a service that archives attachments on 127.0.0.1 into a fresh folder.
    static func withArchivingService(
        _ kind: StoreUnderTest, allowing hosts: String = "127.0.0.1", maximumBytes: Int64? = nil, totalTimeout: Duration? = nil,
        firstPause: Duration? = nil, queueSamplingInterval: Duration? = nil,
        _ body: @escaping @Sendable (any TestClientProtocol, AttachmentSource, LogCapture, String) async throws -> Void
    ) async throws {
        try await AttachmentSource.with { source in
            let folder = try TemporaryDirectory()
            try await withService(kind, options: .init(dynamoDBEndpoint: MotoServer.archiveEndpoint), configure: { configuration in
                configuration.attachments = .init(folder: folder.url.path + "/attachments")
                try! configuration.attachments.allow(hosts, maximumBytes: maximumBytes, totalTimeout: totalTimeout, firstPause: firstPause)
                configuration.attachments.archiver.workPollInterval = .milliseconds(250)
                if let queueSamplingInterval { configuration.attachments.archiver.queueSamplingInterval = queueSamplingInterval }
            }) { client, _, logs in
                try await body(client, source, logs, folder.url.path + "/attachments")
            }
        }
    }

    /// The message's attachments as the API shows them, once `isDone` holds (or the last seen).
    static func attachments(
        _ client: any TestClientProtocol, order: String, id: String = "MSG-1", within seconds: Double = 20,
        until isDone: ([[String: Any]]) -> Bool
    ) async throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let response = try await client.getMessages(order)
            let messages = try #require(try response.json()["messages"] as? [[String: Any]])
            let message = try #require(messages.first { $0["messageId"] as? String == id })
            let attachments = try #require(message["attachments"] as? [[String: Any]])
            if isDone(attachments) || Date() > deadline { return attachments }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func allArchived(_ attachments: [[String: Any]]) -> Bool { attachments.allSatisfy { $0["archived"] as? Bool == true } }

    static func download(_ client: any TestClientProtocol, order: String, attachment: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields = validAuthorization
        fields.append(contentsOf: headers)
        return try await client.execute(uri: "/webhook/messages/\(order)/message.received/MSG-1/attachments/\(attachment)", method: .get, headers: fields)
    }

    static func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    /// Seeded bytes of a given size.
    static func bytes(_ count: Int, seed: UInt8 = 7) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) } }

    @Test(arguments: StoreUnderTest.available)
    func archivesOnceAndServesTheFileAfterItsLinkExpired(_ kind: StoreUnderTest) async throws {
        try await Self.withArchivingService(kind) { client, source, _, folder in
            let file = Self.bytes(300_000)
            source.put("deed.pdf", bytes: file)
            let order = "QO-ARCH-\(kind)"
            #expect(try await client.postMessage(Self.payload(order: order, urls: [source.url("/files/deed.pdf")])).status == .ok)
            let attachments = try await Self.attachments(client, order: order, until: Self.allArchived)
            #expect(attachments[0]["archived"] as? Bool == true)
            #expect(attachments[0]["size"] as? Int == file.count)
            #expect(attachments[0]["sha256"] as? String == Self.sha256(file))

            // The link expires; the archive still serves the file, byte for byte.
            source.remove("deed.pdf")
            let whole = try await Self.download(client, order: order, attachment: "ATT-1")
            #expect(whole.status == .ok)
            #expect(Array(buffer: whole.body) == file)
            #expect(whole.headers[.contentType] == "application/pdf")
            #expect(whole.headers[.contentLength] == String(file.count))
            #expect(whole.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(whole.headers[.eTag] == "\"\(Self.sha256(file))\"")
            #expect(whole.headers[.acceptRanges] == "bytes")
            let disposition = try #require(whole.headers[.contentDisposition])
            #expect(disposition.hasPrefix("attachment; filename=\"Closing _disclosure_ 1.pdf\""))
            #expect(disposition.contains("filename*=UTF-8''Closing%20%22disclosure%22%201.pdf"))
            #expect(source.hitCount("/files/deed.pdf") == 1, "fetched exactly once")

            // One blob, named by its SHA-256, and nothing left in the scratch folder.
            let blob = folder + "/sha256/" + Self.sha256(file).prefix(2) + "/" + Self.sha256(file)
            #expect(FileManager.default.contents(atPath: blob).map(Array.init) == file)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/tmp").isEmpty)

            // Ranges: first byte, an open end, a suffix, one past the end.
            let first = try await Self.download(client, order: order, attachment: "ATT-1", headers: [.range: "bytes=0-0"])
            #expect(first.status == .partialContent)
            #expect(Array(buffer: first.body) == [file[0]])
            #expect(first.headers[.contentRange] == "bytes 0-0/\(file.count)")
            let tail = try await Self.download(client, order: order, attachment: "ATT-1", headers: [.range: "bytes=299990-"])
            #expect(Array(buffer: tail.body) == Array(file[299_990...]))
            let suffix = try await Self.download(client, order: order, attachment: "ATT-1", headers: [.range: "bytes=-5"])
            #expect(Array(buffer: suffix.body) == Array(file.suffix(5)))
            #expect(suffix.headers[.contentRange] == "bytes 299995-299999/300000")
            let middle = try await Self.download(client, order: order, attachment: "ATT-1", headers: [.range: "bytes=1000-1999"])
            #expect(Array(buffer: middle.body) == Array(file[1000...1999]))
            let outside = try await Self.download(client, order: order, attachment: "ATT-1", headers: [.range: "bytes=300000-"])
            #expect(outside.status == .rangeNotSatisfiable)
            #expect(outside.headers[.contentRange] == "bytes */300000")
            let several = try await Self.download(client, order: order, attachment: "ATT-1", headers: [.range: "bytes=0-1,5-6"])
            #expect(several.status == .ok && Array(buffer: several.body) == file, "several ranges get the whole file")
            let unchanged = try await Self.download(client, order: order, attachment: "ATT-1", headers: [.ifNoneMatch: "\"\(Self.sha256(file))\""])
            #expect(unchanged.status == .notModified)
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func anUnarchivedAttachmentRedirectsAndAnUnknownOneIsNotFound(_ kind: StoreUnderTest) async throws {
        try await withService(kind) { client, _, _ in
            let url = "https://files.example.com/deed.pdf?signature=abc"
            #expect(try await client.postMessage(Self.payload(order: "QO-REDIR", urls: [url])).status == .ok)
            let listed = try await Self.attachments(client, order: "QO-REDIR") { _ in true }
            #expect(listed[0]["archived"] as? Bool == false)
            #expect(listed[0]["size"] == nil && listed[0]["sha256"] == nil)
            let redirect = try await Self.download(client, order: "QO-REDIR", attachment: "ATT-1")
            #expect(redirect.status == .found)
            #expect(redirect.headers[.location] == url)
            for (order, attachment) in [("QO-REDIR", "ATT-9"), ("QO-NONE", "ATT-1")] {
                let missing = try await Self.download(client, order: order, attachment: attachment)
                #expect(missing.status == .notFound)
                #expect(try missing.json()["error"] as? String == "not_found")
            }
            let unauthenticated = try await client.execute(uri: "/webhook/messages/QO-REDIR/message.received/MSG-1/attachments/ATT-1", method: .get)
            #expect(unauthenticated.status == .unauthorized)
        }
    }

    // The outbound rules are the fetcher's, whatever the store: checked on SQLite alone, which
    // spares the suite's DynamoDB servers (they answer one call at a time on two shared cores).
    @Test(arguments: [StoreUnderTest.sqlite])
    func theOutboundRulesRefuseWhatIsNotAllowed(_ kind: StoreUnderTest) async throws {
        try await Self.withArchivingService(kind, maximumBytes: 10_000, totalTimeout: .seconds(4), firstPause: .seconds(600)) {
            client, source, logs, _ in
            source.put("big.pdf", bytes: Self.bytes(20_000))
            source.put("small.pdf", bytes: Self.bytes(100))
            let cases: [(String, String)] = [
                ("QO-SSRF-REDIRECT-PRIVATE", source.url("/to?url=http://10.1.2.3/secret&signature=s3cret")),
                ("QO-SSRF-REDIRECT-METADATA", source.url("/to?url=http://169.254.169.254/latest/meta-data/")),
                ("QO-SSRF-TOO-BIG", source.url("/files/big.pdf")),
                ("QO-SSRF-TOO-BIG-CHUNKED", source.url("/stream/big.pdf")),
                ("QO-SSRF-HOPS", source.url("/hops/4/small.pdf")),
                ("QO-SSRF-DRIP", source.url("/drip/slow.pdf")),
                ("QO-SSRF-UNLISTED", "http://files.example.com/x.pdf"),
            ]
            for (order, url) in cases { #expect(try await client.postMessage(Self.payload(order: order + "-\(kind)", urls: [url])).status == .ok) }
            // Three hops are followed: this one, with four, is refused; one with three is archived.
            #expect(try await client.postMessage(Self.payload(order: "QO-SSRF-THREE-\(kind)", urls: [source.url("/hops/3/small.pdf")])).status == .ok)
            _ = try await Self.attachments(client, order: "QO-SSRF-THREE-\(kind)", until: Self.allArchived)

            // Every refusal is logged once the archiver has tried (an unlisted host is never
            // queued); none is archived.
            let deadline = Date().addingTimeInterval(20)
            func refusals() -> [String] { logs.lines.filter { $0.contains("Attachment not archived") || $0.contains("will be tried again") } }
            while refusals().count < cases.count - 1, Date() < deadline { try await Task.sleep(for: .milliseconds(200)) }
            #expect(refusals().count >= cases.count - 1)
            for (order, _) in cases {
                let listed = try await Self.attachments(client, order: order + "-\(kind)", within: 0) { _ in true }
                #expect(listed[0]["archived"] as? Bool == false, "\(order)")
            }
            #expect(source.hitCount("/files/small.pdf") == 1, "only the three-hop chain reached the file")
            #expect(source.hitCount("/hops/1/small.pdf") == 2, "the four-hop chain stopped before its last hop")
            let lines = logs.lines.joined(separator: "\n")
            #expect(lines.contains("10.1.2.3 is not in ATTACHMENT_ALLOWED_HOSTS"))
            #expect(lines.contains("169.254.169.254 is not in ATTACHMENT_ALLOWED_HOSTS"))
            #expect(lines.contains("over ATTACHMENT_MAX_BYTES"))
            #expect(lines.contains("more than 3 redirects"))
            #expect(lines.contains("ATTACHMENT_DOWNLOAD_TIMEOUT_SECONDS"))
            #expect(source.hitCount("/stream/big.pdf") == 1 && source.hitCount("/files/big.pdf") == 1, "an over-size file is not tried again")
            #expect(!lines.contains("s3cret"), "no URL query reaches the log")
        }
    }

    @Test(arguments: [StoreUnderTest.sqlite])
    func aListedNameThatResolvesToAnUnlistedLoopbackAddressIsRefused(_ kind: StoreUnderTest) async throws {
        try await Self.withArchivingService(kind, allowing: "localhost") { client, source, logs, _ in
            source.put("small.pdf", bytes: Self.bytes(100))
            let order = "QO-SSRF-NAME-\(kind)"
            #expect(try await client.postMessage(Self.payload(order: order, urls: ["http://localhost:\(source.port)/files/small.pdf"])).status == .ok)
            let deadline = Date().addingTimeInterval(20)
            while !logs.lines.contains(where: { $0.contains("Attachment not archived") }), Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
            let line = try #require(logs.lines.first { $0.contains("Attachment not archived") })
            #expect(line.contains("resolves to") && line.contains("not a public address"))
            #expect(try await Self.attachments(client, order: order, within: 0) { _ in true }[0]["archived"] as? Bool == false)
            #expect(source.hitCount("/files/small.pdf") == 0, "never connected")
        }
    }

    @Test(arguments: StoreUnderTest.available)
    func aFailedDownloadIsTriedAgainAndAChangedURLIsArchivedAgain(_ kind: StoreUnderTest) async throws {
        try await Self.withArchivingService(kind, firstPause: .milliseconds(300)) { client, source, _, _ in
            let order = "QO-RETRY-\(kind)"
            source.put("a.pdf", bytes: Self.bytes(5000, seed: 1))
            source.put("b.pdf", bytes: Self.bytes(7000, seed: 2))
            source.failNext(2)
            #expect(try await client.postMessage(Self.payload(order: order, urls: [source.url("/flaky/a.pdf")])).status == .ok)
            let first = try await Self.attachments(client, order: order, until: Self.allArchived)
            #expect(first[0]["sha256"] as? String == Self.sha256(Self.bytes(5000, seed: 1)))
            #expect(source.hitCount("/flaky/a.pdf") == 3, "two 503s, then the file")

            // A newer delivery with the same URL keeps the file; one with a new URL gets the new file.
            #expect(try await client.postMessage(Self.payload(order: order, urls: [source.url("/flaky/a.pdf")], timestamp: "2025-10-28T10:31:00Z")).status == .ok)
            let kept = try await Self.attachments(client, order: order, within: 0) { _ in true }
            #expect(kept[0]["archived"] as? Bool == true)
            #expect(try await client.postMessage(Self.payload(order: order, urls: [source.url("/files/b.pdf")], timestamp: "2025-10-28T10:32:00Z")).status == .ok)
            let changed = try await Self.attachments(client, order: order) { $0[0]["sha256"] as? String == Self.sha256(Self.bytes(7000, seed: 2)) }
            #expect(changed[0]["size"] as? Int == 7000)
            let served = try await Self.download(client, order: order, attachment: "ATT-1")
            #expect(Array(buffer: served.body) == Self.bytes(7000, seed: 2))
        }
    }
}
