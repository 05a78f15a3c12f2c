import AWSSigning
import DynamoDBMessageStore
import Foundation
import Logging
import StoreTestSupport
import Testing

@testable import DynamoDB

/// The region's DynamoDB endpoint as `AWS_USE_FIPS_ENDPOINT` and `AWS_USE_DUALSTACK_ENDPOINT`
/// choose it, checked against botocore's own endpoint rules.
@Suite struct EndpointVariantTests {
    /// One region and one choice of variants.
    struct Case: Codable, CustomStringConvertible {
        var region: String
        var fips: Bool
        var dualstack: Bool

        var description: String { "\(region) fips=\(fips) dualstack=\(dualstack)" }
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/botocore_endpoints.py")

    /// Every combination in the standard, GovCloud, China and European Sovereign Cloud
    /// partitions; the isolated partitions without dual-stack, where the botocore installed
    /// here answers from older data than its own partition table (see the report of issue 17).
    static let cases: [Case] = {
        let full = ["us-east-1", "us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1", "eu-west-1", "ca-central-1", "ap-southeast-2",
            "il-central-1", "mx-central-1", "eusc-de-east-1"]
        var cases = full.flatMap { region in
            [(false, false), (true, false), (false, true), (true, true)].map { Case(region: region, fips: $0.0, dualstack: $0.1) }
        }
        for region in ["us-iso-east-1", "us-isob-east-1", "us-isof-south-1", "eu-isoe-west-1"] {
            cases += [Case(region: region, fips: false, dualstack: false), Case(region: region, fips: true, dualstack: false)]
        }
        return cases
    }()

    @Test(.enabled(if: Botocore.isAvailable || MotoServer.isCI, "botocore cross-check skipped: python3 cannot import botocore (pip install botocore)"))
    func hostNamesMatchBotocoresEndpointRules() throws {
        let result = try Botocore.run([Self.script.path], input: try JSONEncoder().encode(Self.cases))
        try #require(result.status == 0, "botocore_endpoints.py failed: \(result.errors)")
        let expected = try JSONDecoder().decode([String].self, from: result.output)
        try #require(expected.count == Self.cases.count)
        for (testCase, botocore) in zip(Self.cases, expected) {
            let ours = DynamoDBEndpoint(useFIPS: testCase.fips, useDualStack: testCase.dualstack).url(region: testCase.region)
            #expect(ours == botocore, "\(testCase)")
        }
    }

    @Test func theFourVariantsOfTheIssue() {
        #expect(DynamoDBEndpoint().url(region: "us-east-1") == "https://dynamodb.us-east-1.amazonaws.com")
        #expect(DynamoDBEndpoint(useFIPS: true).url(region: "us-east-1") == "https://dynamodb-fips.us-east-1.amazonaws.com")
        #expect(DynamoDBEndpoint(useDualStack: true).url(region: "us-east-1") == "https://dynamodb.us-east-1.api.aws")
        #expect(DynamoDBEndpoint(useFIPS: true, useDualStack: true).url(region: "us-east-1") == "https://dynamodb-fips.us-east-1.api.aws")
        #expect(DynamoDBEndpoint().url(region: "cn-north-1") == "https://dynamodb.cn-north-1.amazonaws.com.cn")
        #expect(DynamoDBEndpoint(useDualStack: true).url(region: "cn-north-1") == "https://dynamodb.cn-north-1.api.amazonwebservices.com.cn")
    }

    @Test func theClientSendsToTheChosenEndpoint() async throws {
        let client = try DynamoDBClient(
            configuration: .init(region: "cn-north-1", regionalEndpoint: DynamoDBEndpoint(useFIPS: true)),
            credentialProvider: StaticCredentialProvider(AWSCredentials(accessKeyID: "AKIDTEST", secretAccessKey: "secret")),
            logger: .init(label: "test")
        )
        try await client.shuttingDown { client in
            #expect(client.endpointURL == "https://dynamodb-fips.cn-north-1.amazonaws.com.cn/")
            #expect(client.hostHeader == "dynamodb-fips.cn-north-1.amazonaws.com.cn")
        }
    }

    @Test func anExplicitEndpointWinsOverBothVariants() {
        let settings = DynamoDBMessageStore.Settings(
            tableName: "t", region: "eu-west-1", endpoint: "http://127.0.0.1:5000", useFIPSEndpoint: true, useDualStackEndpoint: true
        )
        #expect(settings.endpointURL == "http://127.0.0.1:5000")
        var regional = settings
        regional.endpoint = nil
        #expect(regional.endpointURL == "https://dynamodb-fips.eu-west-1.api.aws")
    }
}
