/// Finding, eight bytes at a time, where the plain run of a JSON string ends: the bytes a string
/// holds as they are, up to the first one that ends it or must be escaped (`"`, `\`, a control
/// character). The writer asks whether a string needs any escaping; the reader where a string's
/// plain run ends and whether it is ASCII (then it needs no UTF-8 validation).
enum JSONByteScanning {
    /// The bytes of `word` (eight string bytes, the first in the lowest bits) that a JSON string
    /// must escape (a control character, `"` or `\`), flagged by their high bit. Any flag means
    /// there is one, and the lowest flag is the first; a flag after a true one may be spurious
    /// (the classic word-at-a-time "has a byte less than / equal to" tests).
    @inline(__always)
    static func specialBytes(in word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let control = (word &- ones &* 0x20) & ~word
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        return (control | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)) & 0x8080_8080_8080_8080
    }

    /// Where the run of `buffer` from `start` that needs no escaping ends (at a quote, a
    /// backslash, a control character or the end of the buffer), and whether it is ASCII.
    @inline(__always)
    static func plainRun(in buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> (end: Int, isASCII: Bool) {
        guard let base = buffer.baseAddress else { return (start, true) }
        var index = start
        var high: UInt64 = 0
        while index + 8 <= buffer.count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            let special = specialBytes(in: word)
            if special != 0 {
                // The lowest flagged byte is exact (borrows only flag bytes after it).
                let before = special.trailingZeroBitCount / 8
                if before > 0 { high |= word & (UInt64.max >> (64 - 8 * before)) }
                return (index + before, high & 0x8080_8080_8080_8080 == 0)
            }
            high |= word
            index += 8
        }
        var tail: UInt8 = 0
        while index < buffer.count {
            let byte = buffer[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            tail |= byte
            index += 1
        }
        return (index, high & 0x8080_8080_8080_8080 == 0 && tail < 0x80)
    }

    /// True when `bytes` hold a byte a JSON string must escape: a control character, `"` or `\`.
    static func needsEscaping(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        plainRun(in: bytes, from: 0).end < bytes.count
    }
}
