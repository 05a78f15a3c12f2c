import Testing

@testable import WebhookApp

/// The attachment archive's variables: off by default, every bad one reported at start.
@Suite struct AttachmentsConfigurationTests {
    let credentials = ["WEBHOOK_USERNAME": "u", "WEBHOOK_PASSWORD": "p"]

    func configuration(_ variables: [String: String]) throws -> AppConfiguration.Attachments {
        try AppConfiguration(environment: credentials.merging(variables) { $1 }).attachments
    }

    func problems(_ variables: [String: String]) -> [String] {
        let error = #expect(throws: ConfigurationError.self) { try AppConfiguration(environment: credentials.merging(variables) { $1 }) }
        return error?.problems ?? []
    }

    @Test func archivingIsOffUntilHostsAreListed() throws {
        let defaults = try configuration([:])
        #expect(!defaults.isArchiving)
        #expect(defaults.store == .local)
        #expect(defaults.folder == "data/attachments")
        #expect(defaults.limits.maximumBytes == 100 * 1024 * 1024)
        #expect(defaults.archiver.claimDuration == .seconds(60))
    }

    @Test func readsEveryVariable() throws {
        let attachments = try configuration([
            "ATTACHMENT_ALLOWED_HOSTS": "files.qualia.com, *.qualia-docs.com ,10.0.0.7", "ATTACHMENT_MAX_BYTES": "2048",
            "ATTACHMENT_CONNECT_TIMEOUT_SECONDS": "3", "ATTACHMENT_READ_TIMEOUT_SECONDS": "4", "ATTACHMENT_DOWNLOAD_TIMEOUT_SECONDS": "5",
            "ATTACHMENT_DIR": "/srv/attachments", "ATTACHMENT_CLAIM_SECONDS": "30", "ATTACHMENT_STORE": "s3", "S3_BUCKET": "title-docs.archive",
            "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000",
        ])
        #expect(attachments.isArchiving)
        #expect(attachments.allowedHosts.allowsName("files.qualia.com") && attachments.allowedHosts.allowsName("a.qualia-docs.com"))
        #expect(!attachments.allowedHosts.allowsName("qualia-docs.com") && !attachments.allowedHosts.allowsName("evil.com"))
        #expect(attachments.allowedHosts.allowsAddress(IPAddress("10.0.0.7")!) && !attachments.allowedHosts.allowsAddress(IPAddress("10.0.0.8")!))
        #expect(attachments.limits == AttachmentFetcher.Limits(maximumBytes: 2048, connectTimeout: .seconds(3), readTimeout: .seconds(4), totalTimeout: .seconds(5)))
        #expect(attachments.folder == "/srv/attachments")
        #expect(attachments.archiver.claimDuration == .seconds(30))
        guard case .s3(let s3) = attachments.store else {
            Issue.record("ATTACHMENT_STORE=s3 chose \(attachments.store)")
            return
        }
        #expect(s3.bucket == "title-docs.archive" && s3.region == "eu-west-1")
        #expect(s3.awsEnvironment["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:9000")
    }

    @Test func everyBadVariableIsReportedAtOnce() {
        #expect(problems(["ATTACHMENT_ALLOWED_HOSTS": "files.qualia.com, http://x/", "ATTACHMENT_MAX_BYTES": "0", "ATTACHMENT_STORE": "ftp"]) == [
            "ATTACHMENT_ALLOWED_HOSTS: 'http://x/' is not a host name, a *.suffix or an IP address",
            "ATTACHMENT_MAX_BYTES must be a whole number from 1 to 53687091200",
            "ATTACHMENT_STORE must be \"local\" or \"s3\"",
        ])
        #expect(problems(["ATTACHMENT_STORE": "s3"]) == ["S3_BUCKET is not set, and ATTACHMENT_STORE=s3 needs it"])
        for bucket in ["ab", "Upper-Case", "-starts-with-dash", "under_score", String(repeating: "a", count: 64)] {
            #expect(problems(["ATTACHMENT_STORE": "s3", "S3_BUCKET": bucket]) == ["S3_BUCKET must be 3 to 63 lowercase letters, digits, '.' or '-'"], "\(bucket)")
        }
        #expect(problems(["ATTACHMENT_STORE": "s3", "S3_BUCKET": "docs", "AWS_ENDPOINT_URL_S3": "localhost:9000"])
            == ["AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) must be an http or https URL"])
    }
}
