import AsyncHTTPClient
import Blobs
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import S3
import S3BlobStore
import StoreTestSupport
import Testing

@testable import WebhookApp

/// Issue 14's whole path with the S3 blob store, against moto's S3: the file archived by a
/// multipart upload, served whole and by range after its link expired.
@Suite(.enabled(if: MotoServer.shouldRun, "moto is not installed here"))
struct AttachmentS3ArchiveTests {
    @Test func anAttachmentIsArchivedToS3AndServedFromIt() async throws {
        let endpoint = try #require(MotoServer.s3Endpoint)
        let client = try S3Client(
            region: "us-east-1",
            environment: [
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL_S3": endpoint, "AWS_EC2_METADATA_DISABLED": "true",
            ],
            // Multipart from 5 MiB, so the 6 MiB file goes up in two parts.
            configure: { $0.multipartThreshold = 5 * 1024 * 1024; $0.partSize = 5 * 1024 * 1024 },
            httpClient: .shared, logger: Logger(label: "s3-test")
        )
        let bucket = "archive-" + UUID().uuidString.lowercased()
        try await client.createBucket(bucket)
        let blobs = S3BlobStore(client: client, bucket: bucket)
        let folder = try TemporaryDirectory()
        defer { folder.remove() }

        try await AttachmentSource.with { source in
            let file = AttachmentArchiveTests.bytes(6 * 1024 * 1024 + 123, seed: 5)
            source.put("survey.pdf", bytes: file, contentType: "application/pdf")
            var configuration = AppConfiguration(auth: .init(credentials: testCredentials), http: .init(port: 0))
            configuration.attachments = .init(folder: folder.path("attachments"))
            try configuration.attachments.allow("127.0.0.1")
            configuration.attachments.archiver.workPollInterval = .milliseconds(100)
            try await withStore(.sqlite) { store in
                let app = buildApplication(configuration, store: store, blobs: blobs, logger: Logger(label: "test"))
                try await app.test(.router) { http in
                    #expect(try await http.postMessage(AttachmentArchiveTests.payload(order: "QO-S3", urls: [source.url("/files/survey.pdf")])).status == .ok)
                    let listed = try await AttachmentArchiveTests.attachments(http, order: "QO-S3", until: AttachmentArchiveTests.allArchived)
                    #expect(listed[0]["sha256"] as? String == AttachmentArchiveTests.sha256(file))
                    let key = try #require(BlobKey(sha256: AttachmentArchiveTests.sha256(file)))
                    let head = try #require(try await client.headObject(bucket: bucket, key: blobs.objectKey(key)))
                    #expect(head.size == Int64(file.count))
                    #expect(head.contentType == "application/pdf")
                    #expect(Self.filesIn(folder.path("attachments")).isEmpty, "nothing kept locally: the scratch file is gone, no local blob")

                    source.remove("survey.pdf")
                    let whole = try await AttachmentArchiveTests.download(http, order: "QO-S3", attachment: "ATT-1")
                    #expect(whole.status == .ok)
                    #expect(Array(buffer: whole.body) == file)
                    let range = try await AttachmentArchiveTests.download(http, order: "QO-S3", attachment: "ATT-1", headers: [.range: "bytes=5242870-5242889"])
                    #expect(range.status == .partialContent)
                    #expect(Array(buffer: range.body) == Array(file[5_242_870...5_242_889]), "a range across the parts' boundary")
                }
            }
        }
    }

    /// Every regular file below a folder.
    static func filesIn(_ root: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        return walker.compactMap { $0 as? String }.filter { name in
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isFolder) && !isFolder.boolValue
        }
    }
}
