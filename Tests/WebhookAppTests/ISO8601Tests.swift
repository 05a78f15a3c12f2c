import Foundation
import MessageStore
import Testing

@testable import WebhookApp

@Suite struct ISO8601Tests {
    @Test(arguments: [
        ("2025-10-28T10:30:00Z", 1_761_647_400_000),
        ("2025-10-28T10:30:00.123Z", 1_761_647_400_123),
        ("2025-10-28T10:30:00.5Z", 1_761_647_400_500),
        ("2025-10-28T10:30:00.123456789Z", 1_761_647_400_123),
        ("2025-10-28T12:30:00+02:00", 1_761_647_400_000),
        ("2025-10-28T05:30:00-0500", 1_761_647_400_000),
        ("2025-10-28T10:30:00+00:00", 1_761_647_400_000),
        ("2025-10-28t10:30:00z", 1_761_647_400_000),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59.999Z", -1),
        ("2024-02-29T00:00:00Z", 1_709_164_800_000),
        ("2000-02-29T23:59:59Z", 951_868_799_000),
    ] as [(String, Int64)])
    func parsesToUnixMilliseconds(_ text: String, _ expected: Int64) {
        #expect(ISO8601.unixMilliseconds(from: text) == expected)
    }

    @Test(arguments: [
        "", "2025-10-28", "2025-10-28T10:30:00", "2025-10-28T10:30Z", "2025-10-28 10:30:00Z", "2025-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2025-04-31T00:00:00Z", "2025-10-28T24:00:00Z",
        "2025-10-28T10:60:00Z", "2025-10-28T10:30:60Z", "2025-10-28T10:30:00.Z", "2025-10-28T10:30:00+25:00",
        "2025-10-28T10:30:00Zjunk", "25-10-28T10:30:00Z", "2025-10-28T10:30:00+2", "１２３４-10-28T10:30:00Z",
    ])
    func rejectsWhatIsNotADateTimeWithAZone(_ text: String) {
        #expect(ISO8601.unixMilliseconds(from: text) == nil)
    }

    @Test func formatsLikeFoundationAndRoundTrips() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let milliseconds = Int64.random(in: -2_208_988_800_000...4_102_444_800_000, using: &generator)
            let text = ISO8601.string(fromUnixMilliseconds: milliseconds, fractionalSeconds: true)
            #expect(text == formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000)))
            #expect(ISO8601.unixMilliseconds(from: text) == milliseconds)
        }
        #expect(ISO8601.string(fromUnixMilliseconds: 1_761_647_405_999) == "2025-10-28T10:30:05Z")
    }
}
