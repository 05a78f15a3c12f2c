import Foundation
import Testing

@testable import AWSSigning
@testable import DynamoDB

/// The signing timestamps, computed without a calendar, checked against Foundation's.
@Suite struct AmzDateTests {
    static func formatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.dateFormat = format
        return formatter
    }

    @Test func knownInstants() {
        #expect(AmzDate(Date(timeIntervalSince1970: 0)).dateTime == "19700101T000000Z")
        #expect(AmzDate(Date(timeIntervalSince1970: 1_761_647_400.999)).dateTime == "20251028T103000Z")
        #expect(AmzDate(Date(timeIntervalSince1970: 1_709_164_800)).date == "20240229")  // a leap day
        #expect(AmzDate(Date(timeIntervalSince1970: 1_735_689_599)).dateTime == "20241231T235959Z")
        #expect(AmzDate(Date(timeIntervalSince1970: 4_102_444_800)).dateTime == "21000101T000000Z")
        #expect(AmzDate(Date(timeIntervalSince1970: -1)).dateTime == "19691231T235959Z")
    }

    @Test func agreesWithFoundationOverFourCenturies() {
        let dateFormatter = Self.formatter("yyyyMMdd"), dateTimeFormatter = Self.formatter("yyyyMMdd'T'HHmmss'Z'")
        var generator = SystemRandomNumberGenerator()
        // 1900 to 2300: leap years, century years that are not (2100, 2200) and 2000, which is.
        for _ in 0..<5_000 {
            let seconds = Double(Int64.random(in: -2_208_988_800...10_413_792_000, using: &generator))
            let instant = Date(timeIntervalSince1970: seconds)
            let computed = AmzDate(instant)
            #expect(computed.date == dateFormatter.string(from: instant), "\(seconds)")
            #expect(computed.dateTime == dateTimeFormatter.string(from: instant), "\(seconds)")
        }
    }
}
