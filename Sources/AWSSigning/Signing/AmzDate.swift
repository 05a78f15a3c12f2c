import Foundation

/// `YYYYMMDD` and `YYYYMMDDTHHMMSSZ` in UTC.
struct AmzDate {
    let date: String
    let dateTime: String

    /// Computed from the seconds since 1970, with no calendar: Foundation's `Calendar` took a
    /// large share of each request's signing time. UTC has no leap seconds in POSIX time, so
    /// whole days of 86,400 seconds are exact.
    init(_ instant: Date) {
        let seconds = Int64(instant.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = Self.civilDate(daysSince1970: days)
        var text: [UInt8] = []
        text.reserveCapacity(16)
        func append(_ value: Int64, width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var value = value
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                value %= divisor
                divisor /= 10
            }
        }
        append(year, width: 4)
        append(month, width: 2)
        append(day, width: 2)
        date = String(decoding: text, as: UTF8.self)
        text.append(UInt8(ascii: "T"))
        append(Int64(secondOfDay / 3600), width: 2)
        append(Int64(secondOfDay / 60 % 60), width: 2)
        append(Int64(secondOfDay % 60), width: 2)
        text.append(UInt8(ascii: "Z"))
        dateTime = String(decoding: text, as: UTF8.self)
    }

    /// The proleptic Gregorian year, month and day of a day counted from 1970-01-01 (Howard
    /// Hinnant's `civil_from_days`).
    static func civilDate(daysSince1970: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = daysSince1970 + 719_468  // days since 0000-03-01
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
    /// `days_from_civil`), the inverse of ``civilDate(daysSince1970:)``.
    static func daysSince1970(year: Int64, month: Int64, day: Int64) -> Int64 {
        let year = month <= 2 ? year - 1 : year
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
