import Foundation
import Testing

@testable import AWSSigning
@testable import DynamoDB

/// One case of AWS's published Signature Version 4 test suite (see the fixture's `source`).
struct SigV4TestCase: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    var method: String
    var path: String
    var query: [[String]]
    var headers: [[String]]
    var body: String
    var sessionToken: String?
    var canonicalRequest: String?
    var stringToSign: String?
    var authorization: String

    var testDescription: String { name }

    var request: SigV4Signer.Request {
        SigV4Signer.Request(
            method: method, path: path, query: query.map { ($0[0], $0[1]) }, headers: headers.map { ($0[0], $0[1]) },
            body: Array(body.utf8)
        )
    }
}

struct SigV4TestSuite: Decodable {
    struct Credentials: Decodable {
        var accessKeyID: String
        var secretAccessKey: String
    }

    var source: String
    var credentials: Credentials
    var region: String
    var service: String
    var date: String
    var cases: [SigV4TestCase]

    static let shared: SigV4TestSuite = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/sigv4-test-suite.json")
        return try! JSONDecoder().decode(SigV4TestSuite.self, from: Data(contentsOf: url))
    }()

    func signer(sessionToken: String?) -> SigV4Signer {
        SigV4Signer(
            credentials: AWSCredentials(accessKeyID: credentials.accessKeyID, secretAccessKey: credentials.secretAccessKey, sessionToken: sessionToken),
            region: region, service: service
        )
    }

    var signingDate: Date { try! Date(date, strategy: .iso8601) }
}

/// The signer against AWS's own expected signatures: independent of our code.
@Suite struct SigV4TestSuiteTests {
    @Test(arguments: SigV4TestSuite.shared.cases)
    func producesAWSsExpectedAuthorization(_ testCase: SigV4TestCase) {
        let suite = SigV4TestSuite.shared
        let headers = suite.signer(sessionToken: testCase.sessionToken).signingHeaders(for: testCase.request, date: suite.signingDate)
        #expect(headers.first { $0.name == "authorization" }?.value == testCase.authorization)
        #expect(headers.first { $0.name == "x-amz-date" }?.value == "20150830T123600Z")
        #expect(headers.first { $0.name == "x-amz-security-token" }?.value == testCase.sessionToken)
    }

    @Test func intermediateStepsMatchTheSuite() throws {
        let suite = SigV4TestSuite.shared
        let testCase = try #require(suite.cases.first { $0.canonicalRequest != nil })
        let signer = suite.signer(sessionToken: nil)
        var request = testCase.request
        request.headers.append(("X-Amz-Date", "20150830T123600Z"))
        let canonical = signer.canonicalRequest(request)
        #expect(canonical.text == testCase.canonicalRequest)
        let toSign = signer.stringToSign(canonicalRequest: canonical.text, dateTime: "20150830T123600Z", scope: "20150830/us-east-1/service/aws4_request")
        #expect(toSign == testCase.stringToSign)
    }

    @Test func theKeyCacheGivesTheSameSignatureAndFollowsTheDay() {
        let suite = SigV4TestSuite.shared
        let cache = SigningKeyCache()
        let credentials = AWSCredentials(accessKeyID: suite.credentials.accessKeyID, secretAccessKey: suite.credentials.secretAccessKey)
        let cached = SigV4Signer(credentials: credentials, region: suite.region, service: suite.service, keyCache: cache)
        let request = suite.cases[0].request
        let expected = suite.cases[0].authorization
        for _ in 0..<3 {
            #expect(cached.signingHeaders(for: request, date: suite.signingDate).last?.value == expected)
        }
        // A day later the cached key must not be reused.
        let nextDay = suite.signingDate.addingTimeInterval(86_400)
        #expect(cached.signingHeaders(for: request, date: nextDay).last?.value == suite.signer(sessionToken: nil).signingHeaders(for: request, date: nextDay).last?.value)
    }
}
