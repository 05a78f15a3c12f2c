import Testing

@testable import S3

/// Which URL, `Host` and signed path a bucket and key become.
@Suite struct S3AddressingTests {
    @Test func withoutAnOverrideBucketsAreVirtualHosted() throws {
        let addressing = try S3Addressing(region: "eu-west-1", endpoint: nil)
        let target = addressing.target(bucket: "qualia-files", key: "attachments/sha256/ab")
        #expect(target.url == "https://qualia-files.s3.eu-west-1.amazonaws.com/attachments/sha256/ab")
        #expect(target.host == "qualia-files.s3.eu-west-1.amazonaws.com")
        #expect(target.path == "/attachments/sha256/ab")
        #expect(addressing.target(bucket: "qualia-files", key: nil).path == "/")
    }

    @Test func anOverrideIsAddressedPathStyleWithItsPort() throws {
        let addressing = try S3Addressing(region: "us-east-1", endpoint: "http://127.0.0.1:5000/")
        let target = addressing.target(bucket: "b", key: "a b/ü+=~.txt", query: [("uploadId", "x/y+z"), ("partNumber", "2")])
        #expect(target.url == "http://127.0.0.1:5000/b/a%20b/%C3%BC%2B%3D~.txt?uploadId=x%2Fy%2Bz&partNumber=2")
        #expect(target.host == "127.0.0.1:5000")
        #expect(target.path == "/b/a b/ü+=~.txt", "the signer encodes the path itself, as the URL has it")
        #expect(addressing.target(bucket: "b", key: nil).path == "/b")
    }

    @Test func theEndpointMustBeHTTP() {
        #expect(throws: S3Error.self) { try S3Addressing(region: "us-east-1", endpoint: "ftp://example.com") }
        #expect(throws: S3Error.self) { try S3Addressing(region: "us-east-1", endpoint: "not a url") }
    }

    @Test func theEndpointOverrideFollowsTheSDKsVariables() {
        typealias Configuration = S3Client.Configuration
        #expect(Configuration.endpointOverride(in: [:]) == nil)
        #expect(Configuration.endpointOverride(in: ["AWS_ENDPOINT_URL": "http://a"]) == "http://a")
        #expect(Configuration.endpointOverride(in: ["AWS_ENDPOINT_URL": "http://a", "AWS_ENDPOINT_URL_S3": "http://s3"]) == "http://s3")
        #expect(Configuration.endpointOverride(in: ["AWS_ENDPOINT_URL": "http://a", "AWS_ENDPOINT_URL_S3": ""]) == "http://a")
        #expect(Configuration.endpointOverride(in: ["AWS_ENDPOINT_URL_DYNAMODB": "http://d"]) == nil)
    }

    @Test func partsAreNeverSmallerThanS3Allows() {
        #expect(S3Client.Configuration(region: "us-east-1", partSize: 1024).partSize == 5 * 1024 * 1024)
        var configuration = S3Client.Configuration(region: "us-east-1")
        configuration.partSize = 1
        #expect(configuration.effectivePartSize == 5 * 1024 * 1024)
    }
}
