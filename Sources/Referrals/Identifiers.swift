/// Checks for the identifiers and formats a referral carries.
public enum Identifiers {
    /// NHS number: 10 digits (spaces allowed between groups) whose last digit is the Modulus 11
    /// check digit of the first nine (weights 10 down to 2; 11 means 0; 10 is never valid).
    /// Returns the 10 digits without spaces, or nil.
    public static func nhsNumber(_ text: String) -> String? {
        let digits = text.utf8.filter { $0 != UInt8(ascii: " ") }
        guard digits.count == 10, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let values = digits.map { Int($0 - 0x30) }
        var sum = 0
        for index in 0..<9 { sum += values[index] * (10 - index) }
        var check = 11 - sum % 11
        if check == 11 { check = 0 }
        guard check != 10, check == values[9] else { return nil }
        return String(decoding: digits, as: UTF8.self)
    }

    private static let upnLetters = Array("ABCDEFGHJKLMNPQRTUVWXYZ".utf8)

    /// Unique Pupil Number: 13 characters, a check letter then 12 digits (or 11 digits and a
    /// letter for a temporary UPN); the check letter is the modulo-23 sum of each character
    /// times its position (2 to 13), letters counting A=0 … Z=22 without I, O and S.
    public static func isValidUPN(_ text: String) -> Bool {
        let characters = Array(text.utf8)
        guard characters.count == 13, let check = upnLetters.firstIndex(of: characters[0]) else { return false }
        var sum = 0
        for position in 2...13 {
            let character = characters[position - 1]
            if character >= 0x30, character <= 0x39 {
                sum += Int(character - 0x30) * position
            } else if position == 13, let value = upnLetters.firstIndex(of: character) {
                sum += value * position
            } else {
                return false
            }
        }
        return sum % 23 == check
    }

    /// ONS GSS code of a local authority: a letter (E, W, S, N) and 8 digits, e.g. `E06000038`.
    public static func isAuthorityCode(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 9,
            [UInt8(ascii: "E"), UInt8(ascii: "W"), UInt8(ascii: "S"), UInt8(ascii: "N")].contains(bytes[0])
        else {
            return false
        }
        return bytes.dropFirst().allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// A calendar date `YYYY-MM-DD` that exists.
    public static func isDate(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = number(bytes[0..<4]), let month = number(bytes[5..<7]), let day = number(bytes[8..<10])
        else { return false }
        return year >= 1900 && (1...12).contains(month) && (1...Instant.daysIn(month: month, year: year)).contains(day)
    }

    /// An instant: `YYYY-MM-DDTHH:MM[:SS[.fraction]]` then `Z` or `±HH:MM` (``Instant``).
    public static func isInstant(_ text: String) -> Bool {
        Instant(iso8601: text) != nil
    }

    private static func number(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return bytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
}
