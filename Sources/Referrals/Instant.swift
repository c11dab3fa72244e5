public import Foundation

/// An instant as referrals write them: ISO 8601 with an offset (`2027-03-27T02:10:00Z`,
/// `2027-03-30T09:00:00+01:00`), read exactly (no floating point) and shown in the offset that
/// Europe/London had at that instant, as every instant edt prints is.
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    public let secondsSinceEpoch: Int64
    /// The fraction of a second as written (its digits, without the point; empty for none).
    public let fractionDigits: String

    /// The time zone of every authority in scope.
    public static let london = TimeZone(identifier: "Europe/London") ?? TimeZone(secondsFromGMT: 0) ?? .current

    public init(secondsSinceEpoch: Int64, fractionDigits: String = "") {
        self.secondsSinceEpoch = secondsSinceEpoch
        self.fractionDigits = fractionDigits
    }

    /// The instant of a `Date`, to the whole second.
    public init(_ date: Date) {
        secondsSinceEpoch = Int64(date.timeIntervalSince1970.rounded(.down))
        fractionDigits = ""
    }

    /// Reads `YYYY-MM-DDTHH:MM[:SS[.fraction]]` then `Z` or `±HH:MM`; nil for anything else
    /// (a date that does not exist or before 1900, an hour of 24, no offset, an offset beyond 14 hours).
    public init?(iso8601 text: String) {
        var text = text
        guard let parsed = text.withUTF8({ Self.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = parsed
    }

    /// Parses the bytes of an ISO 8601 instant (see ``init(iso8601:)``) in place.
    private static func parse(_ bytes: UnsafeRawBufferPointer) -> Instant? {
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard bytes.count >= 17, let year = number(0..<4), bytes[4] == UInt8(ascii: "-"), let month = number(5..<7),
            bytes[7] == UInt8(ascii: "-"), let day = number(8..<10), bytes[10] == UInt8(ascii: "T"),
            let hour = number(11..<13),
            bytes[13] == UInt8(ascii: ":"), let minute = number(14..<16),
            year >= 1900, (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year), hour < 24,
            minute < 60
        else { return nil }
        var index = 16
        var second = 0
        var fraction = ""
        if index < bytes.count, bytes[index] == UInt8(ascii: ":") {
            guard let value = number((index + 1)..<(index + 3)), value < 60 else { return nil }
            second = value
            index += 3
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                let start = index + 1
                index = start
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
                guard index > start, index - start <= 9 else { return nil }
                fraction = String(decoding: bytes[start..<index], as: UTF8.self)
            }
        }
        var offsetSeconds = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "Z") {
            index += 1
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            guard let offsetHours = number((index + 1)..<(index + 3)), index + 3 < bytes.count,
                bytes[index + 3] == UInt8(ascii: ":"),
                let offsetMinutes = number((index + 4)..<(index + 6)), offsetHours <= 14, offsetMinutes < 60
            else { return nil }
            offsetSeconds = sign * (offsetHours * 3_600 + offsetMinutes * 60)
            index += 6
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = Self.daysSinceEpoch(year: year, month: month, day: day)
        return Instant(
            secondsSinceEpoch: days * 86_400 + Int64(hour * 3_600 + minute * 60 + second) - Int64(offsetSeconds),
            fractionDigits: fraction)
    }

    public var date: Date { Date(timeIntervalSince1970: TimeInterval(secondsSinceEpoch)) }

    /// ISO 8601 in the offset Europe/London had at this instant: `Z` in winter (GMT),
    /// `+01:00` in summer (BST). Seconds always; the fraction as it was written.
    public var london: String { written(offsetSeconds: Self.london.secondsFromGMT(for: date)) }

    public var description: String { london }

    /// This instant written with a fixed offset from UTC.
    public func written(offsetSeconds: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        write(offsetSeconds: offsetSeconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the UTF-8 of ``written(offsetSeconds:)`` to `out`, with no string made (what a
    /// document of thousands of instants is written with).
    public func write(offsetSeconds: Int, to out: inout [UInt8]) {
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        let local = secondsSinceEpoch + Int64(offsetSeconds)
        let days = Int64((Double(local) / 86_400).rounded(.down))
        let secondOfDay = Int(local - days * 86_400)
        let (year, month, day) = Self.civil(fromDays: days)
        if (0...9_999).contains(year) { digits(year, 4) } else { out.append(contentsOf: String(year).utf8) }
        out.append(UInt8(ascii: "-"))
        digits(month, 2)
        out.append(UInt8(ascii: "-"))
        digits(day, 2)
        out.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3_600, 2)
        out.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2)
        out.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2)
        if !fractionDigits.isEmpty {
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: fractionDigits.utf8)
        }
        if offsetSeconds == 0 {
            out.append(UInt8(ascii: "Z"))
            return
        }
        let magnitude = abs(offsetSeconds)
        out.append(offsetSeconds < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        digits(magnitude / 3_600, 2)
        out.append(UInt8(ascii: ":"))
        digits(magnitude / 60 % 60, 2)
    }

    public static func < (lhs: Instant, rhs: Instant) -> Bool {
        if lhs.secondsSinceEpoch != rhs.secondsSinceEpoch { return lhs.secondsSinceEpoch < rhs.secondsSinceEpoch }
        return lhs.fraction < rhs.fraction
    }

    /// Equal when they are the same instant, however the fraction was written (`.5`, `.50`).
    public static func == (lhs: Instant, rhs: Instant) -> Bool {
        lhs.secondsSinceEpoch == rhs.secondsSinceEpoch && lhs.fraction == rhs.fraction
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(secondsSinceEpoch)
        hasher.combine(fraction)
    }

    /// The fraction as a number of nanoseconds, for ordering and equality.
    private var fraction: Int {
        Int((fractionDigits + String(repeating: "0", count: max(0, 9 - fractionDigits.count))).prefix(9)) ?? 0
    }

    // MARK: - Civil calendar (proleptic Gregorian), after Howard Hinnant's algorithms

    /// The days of `month` (1–12) in `year`.
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to the civil date given (negative before it).
    public static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The civil date `days` after 1970-01-01.
    public static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0), month, day)
    }
}
