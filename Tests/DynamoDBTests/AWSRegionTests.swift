import Foundation
import StoreTestSupport
import Testing

@testable import AWSSigning

@Suite struct AWSRegionTests {
    @Test func awsRegionThenAWSDefaultRegionThenTheProfilesRegionThenUSEast1() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try "[default]\nregion = eu-west-3\n[profile work]\nregion = eu-central-1\n".write(toFile: folder.path("config"), atomically: true, encoding: .utf8)
        let files = ["AWS_CONFIG_FILE": folder.path("config"), "AWS_SHARED_CREDENTIALS_FILE": folder.path("none"), "HOME": folder.path("home")]
        func resolve(_ extra: [String: String]) -> AWSRegion { AWSRegion.resolve(environment: files.merging(extra) { $1 }) }

        #expect(resolve(["AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "ap-south-1"]) == AWSRegion(name: "us-west-2", source: .awsRegion))
        #expect(resolve(["AWS_DEFAULT_REGION": "ap-south-1"]) == AWSRegion(name: "ap-south-1", source: .awsDefaultRegion))
        #expect(resolve(["AWS_REGION": "", "AWS_DEFAULT_REGION": "ap-south-1"]).source == .awsDefaultRegion, "empty counts as unset")
        #expect(resolve([:]) == AWSRegion(name: "eu-west-3", source: .profile("default")))
        #expect(resolve(["AWS_PROFILE": "work"]) == AWSRegion(name: "eu-central-1", source: .profile("work")))
        #expect(resolve(["AWS_PROFILE": "other"]) == AWSRegion(name: "us-east-1", source: .default))
        #expect(AWSRegion.resolve(environment: ["AWS_CONFIG_FILE": folder.path("none"), "AWS_SHARED_CREDENTIALS_FILE": folder.path("none")]).source == .default)
    }

    @Test func theConfigFileIsReadAsBotocoreReadsIt() {
        let file = ConfigFile(
            parsing: """
                # comment
                [default]
                region: eu-west-1
                Credential_Process = helper --x # not a comment
                s3 =
                  max_concurrent_requests = 20
                [profile "quoted name"]
                region = ap-east-1
                [sso-session corp]
                sso_region = us-east-1
                [preview]
                x = 1
                [profile default]
                region = eu-north-1
                """
        )
        let profiles = file.configProfiles
        #expect(Set(profiles.keys) == ["default", "quoted name"])
        #expect(profiles["default"]?["region"] == "eu-north-1", "the later section naming the default profile wins")
        #expect(file.sections.first?.values["credential_process"] == "helper --x # not a comment")
        #expect(file.sections.first?.values["s3"] == "\nmax_concurrent_requests = 20")
        #expect(file.sections.first?.values["max_concurrent_requests"] == nil)
        #expect(profiles["quoted name"]?["region"] == "ap-east-1")
    }
}
