import Foundation

/// The `Date` header's time, in HTTP's preferred format (RFC 9110's IMF-fixdate,
/// `Sun, 06 Nov 1994 08:49:37 GMT`), which AWS answers carry.
///
/// Read by hand, as ``AmzDate`` is written: only error answers are read (a possible clock
/// skew), and the format is fixed.
public enum HTTPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The time `text` names, or `nil` when it is not an IMF-fixdate (the obsolete RFC 850 and
    /// asctime forms are not read: AWS does not send them).
    public static func parse(_ text: String) -> Date? {
        // "Sun, 06 Nov 1994 08:49:37 GMT": a weekday and a comma, then five fields.
        let fields = text.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 6, fields[0].count == 4, fields[0].hasSuffix(","), fields[5] == "GMT",
            fields[1].count == 2, let day = Int64(fields[1]), (1...31).contains(day),
            let monthIndex = months.firstIndex(of: String(fields[2])),
            fields[3].count == 4, let year = Int64(fields[3])
        else { return nil }
        let time = fields[4].split(separator: ":", omittingEmptySubsequences: false)
        guard time.count == 3, time.allSatisfy({ $0.count == 2 }),
            let hour = Int64(time[0]), let minute = Int64(time[1]), let second = Int64(time[2]),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        let days = AmzDate.daysSince1970(year: year, month: Int64(monthIndex + 1), day: day)
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hour * 3600 + minute * 60 + second))
    }
}
