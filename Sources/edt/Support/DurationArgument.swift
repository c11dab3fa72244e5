/// A duration as an option takes it: a whole number and a unit, `s` (seconds), `m` (minutes),
/// `h` (hours) or `d` (days of 24 hours): `90m`, `24h`, `7d`.
enum DurationArgument {
    /// What a malformed duration is told, after the option's name and value.
    static let expected = "must be a whole number and a unit, s, m, h or d (e.g. 90m, 24h, 7d)"

    /// The seconds `text` stands for; nil when it is not a whole number and one of those units.
    static func seconds(_ text: String) -> Int64? {
        guard let unit = text.last, text.count >= 2 else { return nil }
        let digits = text.dropLast()
        guard digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), digits.count <= 12, let number = Int64(digits)
        else { return nil }
        let multiplier: Int64
        switch unit {
        case "s": multiplier = 1
        case "m": multiplier = 60
        case "h": multiplier = 3_600
        case "d": multiplier = 86_400
        default: return nil
        }
        return number * multiplier
    }
}
