import Blobs
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MessageStore
import NIOCore

/// `GET /webhook/messages/{order_id}/{message_type}/{message_id}/attachments/{attachment_id}`
/// (reader or webhook credentials): an attachment's file from the archive, or a redirect to
/// its URL while it is not archived.
///
/// An archived file streams from the blob store with its recorded `Content-Type`,
/// `Content-Disposition: attachment` with a safe file name, `X-Content-Type-Options: nosniff`
/// and a sandboxing `Content-Security-Policy` (a file is never run as a page of this origin),
/// an `ETag` from its SHA-256 (`If-None-Match` answers 304) and one byte range (`Range`;
/// 206, or 416 for a range outside the file). `HEAD` answers the same headers.
struct AttachmentController: Sendable {
    let store: any MessageStore
    let blobs: any BlobStore

    func addRoutes(to group: RouterGroup<WebhookRequestContext>) {
        group.get("messages/{order_id}/{message_type}/{message_id}/attachments/{attachment_id}", use: download)
    }

    @Sendable func download(request: Request, context: WebhookRequestContext) async throws -> Response {
        var query = ReaderQuery(request, context: context)
        let key = try query.messageKey()
        let attachmentID = try context.parameters.require("attachment_id")
        try query.requireValid()
        guard let key, let message = try await store.message(key),
            let attachment = message.attachments?.first(where: { $0.id.hasSameUTF8(as: attachmentID) })
        else { throw WebhookError.attachmentNotFound }
        guard let archive = attachment.archive, let blobKey = BlobKey(sha256: archive.sha256) else {
            return Self.redirect(to: attachment.url)
        }
        let etag = "\"\(archive.sha256)\""
        var headers = Self.fileHeaders(archive: archive, name: attachment.name, etag: etag)
        if let tags = request.headers[.ifNoneMatch], Self.matches(tags, etag: etag) {
            return Response(status: .notModified, headers: headers)
        }
        let range: ClosedRange<Int64>?
        switch ByteRange.parse(request.headers[.range], size: archive.size) {
        case .whole:
            range = nil
        case .range(let requested):
            range = requested
        case .unsatisfiable:
            throw WebhookError.rangeNotSatisfiable(size: archive.size)
        }
        let read: BlobRead
        do {
            read = try await blobs.read(blobKey, range: range)
        } catch let error as BlobStoreError where error.kind == .notFound {
            context.logger.error(
                "An archived attachment's file is missing from the blob store; redirecting to its URL",
                metadata: ["order_id": .string(key.orderID), "attachment_id": .string(attachmentID), "sha256": .string(archive.sha256)]
            )
            return Self.redirect(to: attachment.url)
        } catch {
            context.logger.error("The blob store failed", metadata: ["error": .string(String(describing: error))])
            throw WebhookError.archiveUnavailable
        }
        let length = range.map { $0.upperBound - $0.lowerBound + 1 } ?? read.size
        headers[.contentLength] = String(length)
        var status = HTTPResponse.Status.ok
        if let range {
            status = .partialContent
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(read.size)"
        }
        return Response(
            status: status, headers: headers,
            body: ResponseBody(contentLength: Int(length)) { writer in
                try await read.stream { chunk in try await writer.write(chunk) }
                try await writer.finish(nil)
            }
        )
    }

    /// `302` to the attachment's own URL, never cached (it is served once archived).
    private static func redirect(to url: String) -> Response {
        Response(status: .found, headers: [.location: url, .cacheControl: "no-store"])
    }

    private static func fileHeaders(archive: ArchivedFile, name: String, etag: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = archive.contentType
        headers[.contentDisposition] = ContentDisposition.attachment(named: name)
        headers[.xContentTypeOptions] = "nosniff"
        headers[.contentSecurityPolicy] = "default-src 'none'; sandbox"
        headers[.eTag] = etag
        headers[.acceptRanges] = "bytes"
        // Credentials guard it: a shared cache must not keep it; the browser may, by its ETag.
        headers[.cacheControl] = "private, no-cache"
        return headers
    }

    /// Whether an `If-None-Match` list names `etag` (or is `*`); weak tags compare too.
    static func matches(_ header: String, etag: String) -> Bool {
        header.split(separator: ",").contains { tag in
            let trimmed = tag.trimmingCharacters(in: .whitespaces)
            return trimmed == "*" || trimmed == etag || trimmed == "W/" + etag
        }
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
}
