import Foundation
import Testing

@testable import AWSSigning

@Suite struct STSXMLReaderTests {
    /// STS's documented `AssumeRole` answer, as AWS formats it (indented, namespaced).
    static let assumeRoleAnswer = """
        <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <AssumeRoleResult>
          <SourceIdentity>Alice</SourceIdentity>
            <AssumedRoleUser>
              <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>
              <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>
            </AssumedRoleUser>
            <Credentials>
              <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
              <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
              <SessionToken>
               AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW
               LWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGd
              </SessionToken>
              <Expiration>2019-11-09T13:34:41Z</Expiration>
            </Credentials>
            <PackedPolicySize>6</PackedPolicySize>
          </AssumeRoleResult>
          <ResponseMetadata>
            <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
          </ResponseMetadata>
        </AssumeRoleResponse>
        """

    /// moto's `AssumeRoleWithWebIdentity` answer: one line, six fractional digits.
    static let webIdentityAnswer =
        #"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIARZPUZDIKKAFR47MM</AccessKeyId><SecretAccessKey>4zs+b6nK8mJny8ASHxf/d7hD2CenAU2hxosCRVjn</SecretAccessKey><SessionToken>FQoGZXIvYXdzEBYaDiDpHWUz&amp;=</SessionToken><Expiration>2026-11-26T07:21:38.493630Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>ARO123EXAMPLE123:s</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn></AssumedRoleUser><PackedPolicySize>6</PackedPolicySize></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>"#

    static let errorAnswer = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <Error>
            <Type>Sender</Type>
            <Code>AccessDenied</Code>
            <Message>User: arn:aws:iam::123456789012:user/x is not authorized to perform: sts:AssumeRole &amp; more</Message>
          </Error>
          <RequestId>4b9b1ba8-4c4a-4a8e-b0c3-6a3c4b8f3c7e</RequestId>
        </ErrorResponse>
        """

    @Test func readsTheCredentialsOfAnAssumeRoleAnswer() throws {
        let credentials = try STSAnswer.credentials(from: Array(Self.assumeRoleAnswer.utf8), action: "AssumeRole")
        #expect(credentials.accessKeyID == "ASIAIOSFODNN7EXAMPLE")
        #expect(credentials.secretAccessKey == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY")
        #expect(credentials.sessionToken?.contains("AQoDYXdzEPT//////////wEXAMPLE") == true)
        #expect(credentials.expiration == Date(timeIntervalSince1970: 1_573_306_481))
    }

    @Test func readsMotosWebIdentityAnswerWithFractionalSecondsAndEntities() throws {
        let credentials = try STSAnswer.credentials(from: Array(Self.webIdentityAnswer.utf8), action: "AssumeRoleWithWebIdentity")
        #expect(credentials.sessionToken == "FQoGZXIvYXdzEBYaDiDpHWUz&=")
        #expect(abs(try #require(credentials.expiration).timeIntervalSince1970 - 1_795_677_698.493630) < 0.000_01)
    }

    @Test func readsAnErrorResponsesCodeAndMessage() throws {
        let error = try #require(STSAnswer.error(from: Array(Self.errorAnswer.utf8)))
        #expect(error.code == "AccessDenied")
        #expect(error.message.hasSuffix("sts:AssumeRole & more"))
    }

    @Test func refusesTheWrongActionDuplicatesAndMissingFields() {
        #expect(throws: STSXMLReader.Failure.self) { try STSAnswer.credentials(from: Array(Self.assumeRoleAnswer.utf8), action: "AssumeRoleWithWebIdentity") }
        let duplicated = Self.assumeRoleAnswer.replacingOccurrences(of: "<AccessKeyId>", with: "<AccessKeyId>A</AccessKeyId><AccessKeyId>")
        #expect(throws: STSXMLReader.Failure.self) { try STSAnswer.credentials(from: Array(duplicated.utf8), action: "AssumeRole") }
        let missing = Self.assumeRoleAnswer.replacingOccurrences(of: "<Expiration>2019-11-09T13:34:41Z</Expiration>", with: "")
        #expect(throws: STSXMLReader.Failure.self) { try STSAnswer.credentials(from: Array(missing.utf8), action: "AssumeRole") }
        let badTime = Self.assumeRoleAnswer.replacingOccurrences(of: "2019-11-09T13:34:41Z", with: "2019-02-30T13:34:41Z")
        #expect(throws: STSXMLReader.Failure.self) { try STSAnswer.credentials(from: Array(badTime.utf8), action: "AssumeRole") }
    }

    @Test(arguments: [
        "<a>", "<a></b>", "</a>", "<a><b></a></b>", "<a/><b/>", "text<a/>", "<a/>text", "<a>&unknown;</a>", "<a>&#0;</a>", "<a>&#xD800;</a>",
        "<a>&#+65;</a>", "<a>&amp</a>", "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "<a><![CDATA[x]]></a>", "<a><?pi x?></a>", "<a b></a>",
        "<a b=c></a>", "<a b=\"<\"></a>", "<a b=\"x\"c=\"y\"></a>", "<1a></1a>", "<a>\u{1}</a>", "<!-- never closed <a/>", "", "   ",
    ])
    func refusesMalformedDocuments(_ document: String) {
        #expect(throws: STSXMLReader.Failure.self) { try STSXMLReader.parse(Array(document.utf8)) }
    }

    @Test func refusesDeepNestingWithoutRecursing() {
        let deep = String(repeating: "<a>", count: 100_000) + String(repeating: "</a>", count: 100_000)
        #expect(throws: STSXMLReader.Failure.self) { try STSXMLReader.parse(Array(deep.utf8)) }
    }

    /// Enough to hit every branch of the reader many times, few enough for a debug build on a
    /// shared two-core machine.
    static let fuzzIterations = 12_000

    /// Random mutations and truncations of valid answers either parse or throw, and the
    /// whole run ends quickly: no crash, no hang, no quadratic blow-up.
    @Test func mutatedAnswersParseOrThrowAndNeverCrashOrHang() {
        var random = SplitMix64(seed: 0x5EED_0017)
        let seeds = [Self.assumeRoleAnswer, Self.webIdentityAnswer, Self.errorAnswer].map { Array($0.utf8) }
        let interesting: [UInt8] = Array("<>/&;#x\"'=!?- \n".utf8) + [0x00, 0x7F, 0xC3, 0xA9, 0xFF, 0xE2]
        let started = ContinuousClock.now
        var parsed = 0, refused = 0
        for iteration in 0..<Self.fuzzIterations {
            var bytes = seeds[iteration % seeds.count]
            for _ in 0...Int(random.next() % 4) {
                guard !bytes.isEmpty else { break }
                let position = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 6 {
                case 0: bytes[position] = interesting[Int(random.next() % UInt64(interesting.count))]
                case 1: bytes.remove(at: position)
                case 2: bytes.removeSubrange(position..<min(bytes.count, position + Int(random.next() % 40)))
                case 3: bytes.insert(interesting[Int(random.next() % UInt64(interesting.count))], at: position)
                case 4: bytes = Array(bytes[..<position])
                default:
                    let end = min(bytes.count, position + Int(random.next() % 60))
                    bytes.insert(contentsOf: bytes[position..<end], at: position)
                }
            }
            do {
                _ = try STSAnswer.credentials(from: bytes, action: iteration % 3 == 1 ? "AssumeRoleWithWebIdentity" : "AssumeRole")
                parsed += 1
            } catch {
                refused += 1
            }
            _ = STSAnswer.error(from: bytes)
        }
        #expect(parsed + refused == Self.fuzzIterations)
        #expect(refused > Self.fuzzIterations / 3, "most mutations break the document")
        #expect(parsed > 30, "some mutations (inside text) still parse")
        #expect(ContinuousClock.now - started < .seconds(60))
    }
}

/// A small seeded generator, so a failing mutation can be found again.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
