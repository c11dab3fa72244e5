public import Replication

/// The JSON of EDTLP payloads: a strict reader and a canonical writer for ``FieldValue``.
///
/// Canonical form (what the writer produces, and what golden vectors hold): no whitespace
/// outside strings; object keys sorted by their UTF-8 bytes; strings escape only `"`, `\`, and
/// control characters (`\b \f \n \r \t`, others as `\u00XX` in lowercase hex); numbers that are
/// whole and fit 64 bits are written as integers, others in Swift's shortest round-trip form.
///
/// The reader accepts RFC 8259 JSON without insignificant whitespace; it refuses duplicate keys,
/// lone surrogates, numbers out of range, and nesting deeper than the limit.
public enum JSONPayload {
    // MARK: - Writing

    /// Appends the canonical JSON of `value` to `out`.
    public static func write(_ value: FieldValue, to out: inout [UInt8]) {
        switch value {
        case .null: append("null", to: &out)
        case .bool(let flag): append(flag ? "true" : "false", to: &out)
        case .integer(let number): out.append(contentsOf: String(number).utf8)
        case .double(let number): writeNumber(number, to: &out)
        case .string(let text): write(string: text, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(string: member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeNumber(_ number: Double, to out: inout [UInt8]) {
        if number == number.rounded(), let whole = Int64(exactly: number) {
            out.append(contentsOf: String(whole).utf8)
        } else if number.isFinite {
            out.append(contentsOf: number.description.utf8)
        } else {
            out.append(contentsOf: "null".utf8)  // unreachable for values that passed validation
        }
    }

    /// Appends `text` as a JSON string.
    public static func write(string text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            if needsEscaping(bytes) {
                appendEscaped(bytes, to: &out)
            } else {
                out.append(contentsOf: bytes)  // the common case: copied in one go
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends the bytes of a literal.
    @inline(__always)
    static func append(_ literal: StaticString, to out: inout [UInt8]) {
        literal.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    /// Appends the UTF-8 of `text` as it is (no escaping: for identifiers and notations).
    @inline(__always)
    static func append(utf8 text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }

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

    /// True when `bytes` hold a byte a JSON string must escape: a control character, `"` or `\`.
    /// Looks at eight bytes at a time.
    static func needsEscaping(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        var index = 0
        while index + 8 <= bytes.count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            // A byte below 0x20, or equal to 0x22 or 0x5C, sets its high bit in one of these
            // (the classic "has a byte less than / equal to" word tricks; exact for "any").
            if specialBytes(in: word) != 0 { return true }
            index += 8
        }
        while index < bytes.count {
            let byte = base[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return true }
            index += 1
        }
        return false
    }

    private static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"", to: &out)
            case UInt8(ascii: "\\"): append("\\\\", to: &out)
            case 0x08: append("\\b", to: &out)
            case 0x0C: append("\\f", to: &out)
            case 0x0A: append("\\n", to: &out)
            case 0x0D: append("\\r", to: &out)
            case 0x09: append("\\t", to: &out)
            case 0..<0x20:
                let hex: StaticString = "0123456789abcdef"
                append("\\u00", to: &out)
                out.append(hex.utf8Start[Int(byte >> 4)])
                out.append(hex.utf8Start[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
    }

    // MARK: - Reading

    /// Why a payload could not be read.
    public enum ReadError: Error, Equatable, Sendable {
        /// Not valid JSON (as EDTLP restricts it).
        case invalid(String)
        /// A string that is not valid UTF-8.
        case invalidUTF8
        /// Valid JSON, but not of the shape the frame requires.
        case shape(String)
        /// An identifier inside the payload that is not well formed.
        case identifier(String)
    }

    /// Reads exactly one JSON value filling `bytes`.
    ///
    /// - Parameter allowingWhitespace: accept insignificant whitespace (for documents people
    ///   write, such as a referral given to `edt referral new`); wire payloads never have it.
    public static func read(
        _ bytes: ArraySlice<UInt8>, maximumDepth: Int = Limits.standard.maximumJSONDepth, allowingWhitespace: Bool = false
    ) throws(ReadError) -> FieldValue {
        var reader = Reader(bytes: bytes, maximumDepth: maximumDepth)
        reader.allowsWhitespace = allowingWhitespace
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.position == bytes.endIndex else {
            throw .invalid("unexpected bytes after the JSON value at offset \(reader.position - bytes.startIndex)")
        }
        return value
    }

    /// A strict, forward-only JSON reader over a byte slice.
    struct Reader {
        let bytes: ArraySlice<UInt8>
        let maximumDepth: Int
        var position: Int
        var allowsWhitespace = false
        /// False once the reader has met anything the canonical writer would have written
        /// differently (an escape it does not use, a number not in its form, object keys out of
        /// order, whitespace); readers of a whole payload clear it for their own rules too.
        var isCanonical = true

        mutating func skipWhitespace() {
            guard allowsWhitespace else { return }
            while position < bytes.endIndex, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) {
                position += 1
                isCanonical = false
            }
        }

        init(bytes: ArraySlice<UInt8>, maximumDepth: Int) {
            self.bytes = bytes
            self.maximumDepth = maximumDepth
            position = bytes.startIndex
        }

        var offset: Int { position - bytes.startIndex }

        func fail(_ what: String) -> ReadError { .invalid("\(what) at offset \(offset)") }

        mutating func expect(_ literal: String) throws(ReadError) {
            for byte in literal.utf8 {
                guard position < bytes.endIndex, bytes[position] == byte else { throw fail("expected \(literal)") }
                position += 1
            }
        }

        mutating func value(depth: Int) throws(ReadError) -> FieldValue {
            skipWhitespace()
            guard position < bytes.endIndex else { throw fail("expected a value") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw fail("expected a value")
            }
        }

        var isAtEnd: Bool { position == bytes.endIndex }

        /// Reads an object, calling `body` for each key with the reader placed on its value;
        /// `body` must read the value. Refuses a repeated key.
        mutating func forEachMember(depth: Int, _ body: (inout Reader, String) throws(ReadError) -> Void) throws(ReadError) {
            try forEachMember(depth: depth, known: []) { (reader: inout Reader, key: MemberKey) throws(ReadError) in
                switch key {
                case .other(let text): try body(&reader, text)
                case .known: throw reader.fail("a key among no known keys")  // cannot happen
                }
            }
        }

        /// A key of an object read by ``forEachMember(depth:known:_:)``.
        enum MemberKey {
            /// The key at this index of the known keys.
            case known(Int)
            /// Any other key.
            case other(String)
        }

        /// Reads an object whose keys are mostly among `known` (ASCII keys that need no
        /// escaping), calling `body` for each key with the reader placed on its value; `body`
        /// must read the value. A known key written plainly is matched as bytes, without making
        /// a string of it (payloads repeat a few keys thousands of times). Refuses a repeated key.
        mutating func forEachMember(
            depth: Int, known: [StaticString], _ body: (inout Reader, MemberKey) throws(ReadError) -> Void
        ) throws(ReadError) {
            guard depth <= maximumDepth else { throw fail("nesting deeper than \(maximumDepth)") }
            guard position < bytes.endIndex, bytes[position] == UInt8(ascii: "{") else { throw .shape("expected an object") }
            position += 1
            if position < bytes.endIndex, bytes[position] == UInt8(ascii: "}") {
                position += 1
                return
            }
            var seenKnown: UInt64 = 0  // bit i: known[i] was read
            var others = SeenKeys()
            while true {
                guard position < bytes.endIndex, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key: MemberKey
                if let index = knownKey(at: position, among: known) {
                    position += known[index].utf8CodeUnitCount + 2  // the key and its quotes
                    key = .known(index)
                } else {
                    // Any other key, or a known one written with escapes: read as a string.
                    let text = try string()
                    key = known.firstIndex { $0.description == text }.map { .known($0) } ?? .other(text)
                }
                switch key {
                case .known(let index):
                    guard seenKnown & (1 << index) == 0 else { throw fail("duplicate key \"\(known[index])\"") }
                    seenKnown |= 1 << index
                case .other(let text):
                    guard others.insert(text) else { throw fail("duplicate key \"\(text)\"") }
                }
                guard position < bytes.endIndex, bytes[position] == UInt8(ascii: ":") else { throw fail("expected :") }
                position += 1
                try body(&self, key)
                guard position < bytes.endIndex else { throw fail("unterminated object") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else if bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return
                } else {
                    throw fail("expected , or }")
                }
            }
        }

        /// The index in `known` of the key whose opening quote is at `quote`, when it is written
        /// there byte for byte (closing quote included).
        private func knownKey(at quote: Int, among known: [StaticString]) -> Int? {
            bytes.withUnsafeBufferPointer { buffer -> Int? in
                guard let base = buffer.baseAddress else { return nil }
                let start = quote + 1 - bytes.startIndex
                for (index, key) in known.enumerated() {
                    let count = key.utf8CodeUnitCount
                    guard start + count < buffer.count, buffer[start + count] == UInt8(ascii: "\"") else { continue }
                    var same = true
                    for offset in 0..<count where base[start + offset] != key.utf8Start[offset] {
                        same = false
                        break
                    }
                    if same { return index }
                }
                return nil
            }
        }

        /// Reads an array, calling `body` with the reader placed on each element.
        mutating func forEachElement(depth: Int, _ body: (inout Reader) throws(ReadError) -> Void) throws(ReadError) {
            guard depth <= maximumDepth else { throw fail("nesting deeper than \(maximumDepth)") }
            guard position < bytes.endIndex, bytes[position] == UInt8(ascii: "[") else { throw .shape("expected an array") }
            position += 1
            if position < bytes.endIndex, bytes[position] == UInt8(ascii: "]") {
                position += 1
                return
            }
            while true {
                try body(&self)
                guard position < bytes.endIndex else { throw fail("unterminated array") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else if bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return
                } else {
                    throw fail("expected , or ]")
                }
            }
        }

        /// Reads a string value, or refuses with a shape error naming `key`.
        mutating func stringValue(for key: String) throws(ReadError) -> String {
            guard position < bytes.endIndex, bytes[position] == UInt8(ascii: "\"") else {
                throw .shape("\"\(key)\" must be a string")
            }
            return try string()
        }

        mutating func object(depth: Int) throws(ReadError) -> FieldValue {
            guard depth <= maximumDepth else { throw fail("nesting deeper than \(maximumDepth)") }
            position += 1
            skipWhitespace()
            var members: [String: FieldValue] = [:]
            if position < bytes.endIndex, bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            var previousKey: String?
            while true {
                skipWhitespace()
                guard position < bytes.endIndex, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try string()
                if let previousKey, !previousKey.utf8.lexicographicallyPrecedes(key.utf8) { isCanonical = false }  // keys by bytes
                previousKey = key
                skipWhitespace()
                try expect(":")
                let member = try value(depth: depth)
                guard members.updateValue(member, forKey: key) == nil else { throw fail("duplicate key \"\(key)\"") }
                skipWhitespace()
                guard position < bytes.endIndex else { throw fail("unterminated object") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else if bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return .object(members)
                } else {
                    throw fail("expected , or }")
                }
            }
        }

        mutating func array(depth: Int) throws(ReadError) -> FieldValue {
            guard depth <= maximumDepth else { throw fail("nesting deeper than \(maximumDepth)") }
            position += 1
            skipWhitespace()
            var items: [FieldValue] = []
            if position < bytes.endIndex, bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(items)
            }
            while true {
                items.append(try value(depth: depth))
                skipWhitespace()
                guard position < bytes.endIndex else { throw fail("unterminated array") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else if bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return .array(items)
                } else {
                    throw fail("expected , or ]")
                }
            }
        }

        /// The bytes of the string value at the reader, when they need no unescaping and are
        /// ASCII (dots, vectors), without making a `String`; otherwise the string read the
        /// usual way, as bytes. Refuses a value that is not a string with a shape error naming `key`.
        mutating func asciiStringValue(for key: String) throws(ReadError) -> ArraySlice<UInt8> {
            guard position < bytes.endIndex, bytes[position] == UInt8(ascii: "\"") else {
                throw .shape("\"\(key)\" must be a string")
            }
            let start = position + 1
            let (end, isASCII) = plainRun(from: start)
            if isASCII, end < bytes.endIndex, bytes[end] == UInt8(ascii: "\"") {
                position = end + 1
                return bytes[start..<end]
            }
            return Array(try string().utf8)[...]
        }

        /// Where the run of string content from `start` needing no unescaping ends (at a quote,
        /// a backslash, a control character or the end of the bytes), and whether it is ASCII.
        /// Looks at eight bytes at a time.
        func plainRun(from start: Int) -> (end: Int, isASCII: Bool) {
            bytes.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return (start, true) }
                var index = start - bytes.startIndex
                var high: UInt64 = 0
                while index + 8 <= buffer.count {
                    let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                    let special = JSONPayload.specialBytes(in: word)
                    if special != 0 {
                        // The lowest flagged byte is exact (borrows only flag bytes after it).
                        let before = special.trailingZeroBitCount / 8
                        if before > 0 { high |= word & (UInt64.max >> (64 - 8 * before)) }
                        index += before
                        return (index + bytes.startIndex, high & 0x8080_8080_8080_8080 == 0)
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
                return (index + bytes.startIndex, high & 0x8080_8080_8080_8080 == 0 && tail < 0x80)
            }
        }

        mutating func string() throws(ReadError) -> String {
            position += 1  // the opening quote
            let start = position
            // Fast path: no escapes.
            let run = plainRun(from: start)
            position = run.end
            if position < bytes.endIndex {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    let text = try Self.text(bytes[start..<position], isASCII: run.isASCII)
                    position += 1
                    return text
                }
                if byte < 0x20 { throw fail("a raw control character in a string") }
            }
            var scratch = Array(bytes[start..<position])
            while position < bytes.endIndex {
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "\""):
                    position += 1
                    return try Self.text(scratch[...])
                case UInt8(ascii: "\\"):
                    position += 1
                    guard position < bytes.endIndex else { throw fail("unterminated escape") }
                    let escaped = bytes[position]
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"): scratch.append(escaped)
                    case UInt8(ascii: "/"):
                        scratch.append(escaped)
                        isCanonical = false  // the writer leaves "/" as it is
                    case UInt8(ascii: "b"): scratch.append(0x08)
                    case UInt8(ascii: "f"): scratch.append(0x0C)
                    case UInt8(ascii: "n"): scratch.append(0x0A)
                    case UInt8(ascii: "r"): scratch.append(0x0D)
                    case UInt8(ascii: "t"): scratch.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        // The writer uses \u00xx (lowercase) for control characters without a short escape, only.
                        if !Self.isCanonicalEscape(scalar, bytes[(position - 4)..<position]) { isCanonical = false }
                        if (0xD800..<0xDC00).contains(scalar) {
                            try expect("\\u")
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw fail("a lone surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00..<0xE000).contains(scalar) {
                            throw fail("a lone surrogate")
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw fail("an invalid escape") }
                        UTF8.encode(unicode) { scratch.append($0) }
                    default:
                        throw fail("an invalid escape")
                    }
                default:
                    if byte < 0x20 { throw fail("a raw control character in a string") }
                    scratch.append(byte)
                    position += 1
                }
            }
            throw fail("unterminated string")
        }

        /// The string spelled by `bytes`, refusing invalid UTF-8. ASCII, the common case, takes a
        /// fast path that needs no validation.
        static func text(_ bytes: ArraySlice<UInt8>, isASCII: Bool? = nil) throws(ReadError) -> String {
            let result: String? = bytes.withUnsafeBufferPointer { buffer in
                let ascii = isASCII ?? buffer.allSatisfy { $0 < 0x80 }
                // `String(validating:)` is generic and costly; ASCII needs no validation.
                return ascii ? String(decoding: buffer, as: UTF8.self) : String(validating: buffer, as: UTF8.self)
            }
            guard let result else { throw .invalidUTF8 }
            return result
        }

        /// Whether `\u` + `digits` (spelling `scalar`) is how the writer escapes it.
        static func isCanonicalEscape(_ scalar: UInt32, _ digits: ArraySlice<UInt8>) -> Bool {
            guard scalar < 0x20, ![0x08, 0x09, 0x0A, 0x0C, 0x0D].contains(scalar) else { return false }
            return digits.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }
        }

        mutating func hex4() throws(ReadError) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard position < bytes.endIndex else { throw fail("a short \\u escape") }
                let byte = bytes[position]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - 0x30)
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - 0x61 + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - 0x41 + 10)
                default: throw fail("a bad \\u escape")
                }
                value = value << 4 | digit
                position += 1
            }
            return value
        }

        mutating func number() throws(ReadError) -> FieldValue {
            let start = position
            var isWhole = true
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.endIndex, Self.isDigit(bytes[position]) else { throw fail("a bad number") }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
            } else {
                while position < bytes.endIndex, Self.isDigit(bytes[position]) { position += 1 }
            }
            if position < bytes.endIndex, bytes[position] == UInt8(ascii: ".") {
                isWhole = false
                position += 1
                guard position < bytes.endIndex, Self.isDigit(bytes[position]) else { throw fail("a bad number") }
                while position < bytes.endIndex, Self.isDigit(bytes[position]) { position += 1 }
            }
            if position < bytes.endIndex, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                isWhole = false
                position += 1
                if position < bytes.endIndex, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                    position += 1
                }
                guard position < bytes.endIndex, Self.isDigit(bytes[position]) else { throw fail("a bad number") }
                while position < bytes.endIndex, Self.isDigit(bytes[position]) { position += 1 }
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            if isWhole, let whole = Int64(text) {
                if text == "-0" { isCanonical = false }  // written 0
                return .integer(whole)
            }
            isCanonical = false  // the writer's form of a fraction is Swift's; re-encoding decides
            guard let number = Double(text), number.isFinite else { throw fail("a number out of range") }
            if number == number.rounded(), let whole = Int64(exactly: number) { return .integer(whole) }
            return .double(number)
        }

        static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    }
}

/// The keys of one JSON object read so far, for refusing a repeated key. Objects of the wire
/// format have at most four keys; those are kept inline, so reading an object allocates nothing.
struct SeenKeys {
    private var inline: (String?, String?, String?, String?) = (nil, nil, nil, nil)
    private var count = 0
    private var overflow: [String] = []

    /// Adds `key`; false when it was already there.
    mutating func insert(_ key: String) -> Bool {
        if inline.0 == key || inline.1 == key || inline.2 == key || inline.3 == key || (count > 4 && overflow.contains(key)) {
            return false
        }
        switch count {
        case 0: inline.0 = key
        case 1: inline.1 = key
        case 2: inline.2 = key
        case 3: inline.3 = key
        default: overflow.append(key)
        }
        count += 1
        return true
    }
}
