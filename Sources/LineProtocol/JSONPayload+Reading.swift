public import Replication

/// Reading: a strict parser (see ``JSONPayload``).
extension JSONPayload {
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
    ///   It is taken out before reading (``withoutWhitespace(_:)``), so the reader itself, which
    ///   wire payloads go through by the million, never looks for any.
    public static func read(
        _ bytes: ArraySlice<UInt8>, maximumDepth: Int = Limits.standard.maximumJSONDepth,
        allowingWhitespace: Bool = false
    ) throws(ReadError) -> FieldValue {
        var reader: Reader
        if allowingWhitespace {
            let compact = withoutWhitespace(bytes)
            reader = Reader(bytes: compact.bytes[...], maximumDepth: maximumDepth)
            reader.originalOffsets = compact.offsets
        } else {
            reader = Reader(bytes: bytes, maximumDepth: maximumDepth)
        }
        let value = try reader.value(depth: 0)
        guard reader.isAtEnd else { throw .invalid("unexpected bytes after the JSON value at offset \(reader.offset)") }
        return value
    }

    /// `bytes` without the whitespace between JSON tokens, and the offset in `bytes` of each byte
    /// kept (then of the end). Strings are kept as they are. Whitespace that splits a token or
    /// runs two together (`tr ue`, `- 1`, `1 2`) is kept as one space, mapped to the byte after
    /// it, so the reader refuses it as it refuses any byte out of place.
    static func withoutWhitespace(_ bytes: ArraySlice<UInt8>) -> (bytes: [UInt8], offsets: [Int]) {
        func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        /// A byte of a token other than punctuation and strings: of a literal or a number.
        func isWordByte(_ byte: UInt8) -> Bool { !isWhitespace(byte) && !"{}[],:\"".utf8.contains(byte) }
        var out: [UInt8] = []
        var offsets: [Int] = []
        out.reserveCapacity(bytes.count)
        offsets.reserveCapacity(bytes.count + 1)
        var index = bytes.startIndex
        var inString = false
        var skipped = false  // whitespace was left out since the last byte kept
        while index < bytes.endIndex {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\"), index + 1 < bytes.endIndex {
                    out.append(byte)
                    offsets.append(index - bytes.startIndex)
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if isWhitespace(byte) {
                skipped = true
                index += 1
                continue
            } else {
                if skipped, let last = out.last, isWordByte(last), isWordByte(byte) {
                    out.append(0x20)
                    offsets.append(index - bytes.startIndex)
                }
                skipped = false
                inString = byte == UInt8(ascii: "\"")
            }
            out.append(bytes[index])
            offsets.append(index - bytes.startIndex)
            index += 1
        }
        offsets.append(bytes.count)
        return (out, offsets)
    }

    /// A strict, forward-only JSON reader over a byte slice.
    ///
    /// One loop reads each shape: ``forEachMember(depth:known:othersCheckedByCaller:_:)`` every
    /// object, ``forEachElement(depth:_:)`` every array, ``string()`` every string, ``number()``
    /// every number. ``value(depth:)`` builds a ``FieldValue`` with them; a reader of a known
    /// shape (``RecordPayload``) calls them itself and builds its own values. It never looks for
    /// whitespace: wire payloads have none, and ``JSONPayload/read(_:maximumDepth:allowingWhitespace:)``
    /// takes it out of the documents people write before reading them.
    struct Reader {
        let bytes: ArraySlice<UInt8>
        let maximumDepth: Int
        var position: Int
        /// False once the reader has met anything the canonical writer would have written
        /// differently (an escape it does not use, a number not in its form, object keys out of
        /// order); readers of a whole payload clear it for their own rules too.
        var isCanonical = true
        /// For bytes that are a document with its whitespace taken out, the offset in the
        /// document of each byte (and of its end): errors name the place people wrote.
        var originalOffsets: [Int]?

        init(bytes: ArraySlice<UInt8>, maximumDepth: Int) {
            self.bytes = bytes
            self.maximumDepth = maximumDepth
            position = bytes.startIndex
        }

        /// Where the reader is, as an offset into what it was given (or the document it came from).
        var offset: Int {
            let offset = position - bytes.startIndex
            guard let originalOffsets, offset < originalOffsets.count else { return offset }
            return originalOffsets[offset]
        }

        var isAtEnd: Bool { position == bytes.endIndex }

        func fail(_ what: String) -> ReadError { .invalid("\(what) at offset \(offset)") }

        mutating func expect(_ literal: String) throws(ReadError) {
            for byte in literal.utf8 {
                guard position < bytes.endIndex, bytes[position] == byte else { throw fail("expected \(literal)") }
                position += 1
            }
        }

        // MARK: - Values

        /// Reads any value, inside containers `depth` deep.
        mutating func value(depth: Int) throws(ReadError) -> FieldValue {
            guard position < bytes.endIndex else { throw fail("expected a value") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw fail("expected a value")
            }
        }

        /// An object as a value, its keys noted when out of byte order (the writer sorts them).
        private mutating func object(depth: Int) throws(ReadError) -> FieldValue {
            // Grown as members come (rehashed at each doubling): room reserved up front would let
            // a line of tiny objects (`[{},{},...]`) claim far more memory than its bytes.
            var members: [String: FieldValue] = [:]
            var previousKey: String?
            // The members' dictionary refuses a repeated key: no need to keep the keys twice.
            try forEachMember(depth: depth, known: [], othersCheckedByCaller: true) {
                (reader: inout Reader, member: MemberKey) throws(ReadError) in
                guard case .other(let key) = member else { throw reader.fail("a key among no known keys") }  // cannot happen
                if let previousKey, !previousKey.utf8.lexicographicallyPrecedes(key.utf8) { reader.isCanonical = false }
                previousKey = key
                let member = try reader.value(depth: depth)
                guard members.updateValue(member, forKey: key) == nil else {
                    throw reader.fail("duplicate key \"\(key)\"")
                }
            }
            return .object(members)
        }

        /// An array as a value.
        private mutating func array(depth: Int) throws(ReadError) -> FieldValue {
            var items: [FieldValue] = []
            try forEachElement(depth: depth) { (reader: inout Reader) throws(ReadError) in
                items.append(try reader.value(depth: depth))
            }
            return .array(items)
        }

        // MARK: - Objects and arrays

        /// A key of an object read by ``forEachMember(depth:known:othersCheckedByCaller:_:)``.
        enum MemberKey {
            /// The key at this index of the known keys.
            case known(Int)
            /// Any other key.
            case other(String)
        }

        /// Reads an object `depth` deep, whose keys may be among `known` (ASCII keys that need no
        /// escaping), calling `body` for each key with the reader placed on its value; `body`
        /// must read the value. A known key written plainly is matched as bytes, without making
        /// a string of it (payloads repeat a few keys thousands of times). Refuses a repeated key,
        /// but leaves other keys than the known ones to `body` when `othersCheckedByCaller` (a
        /// caller that keeps every key refuses a repeat as it keeps it).
        mutating func forEachMember(
            depth: Int, known: [StaticString], othersCheckedByCaller: Bool = false,
            _ body: (inout Reader, MemberKey) throws(ReadError) -> Void
        ) throws(ReadError) {
            guard depth <= maximumDepth else { throw fail("nesting deeper than \(maximumDepth)") }
            guard position < bytes.endIndex, bytes[position] == UInt8(ascii: "{") else {
                throw .shape("expected an object")
            }
            position += 1
            if position < bytes.endIndex, bytes[position] == UInt8(ascii: "}") {
                position += 1
                return
            }
            var seenKnown: UInt64 = 0  // bit i: known[i] was read
            var others = SeenKeys()
            while true {
                guard position < bytes.endIndex, bytes[position] == UInt8(ascii: "\"") else {
                    throw fail("expected a key")
                }
                let key: MemberKey
                if !known.isEmpty, let index = knownKey(at: position, among: known) {
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
                    guard othersCheckedByCaller || others.insert(text) else { throw fail("duplicate key \"\(text)\"") }
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

        /// Reads an array `depth` deep, calling `body` with the reader placed on each element;
        /// `body` must read the element.
        mutating func forEachElement(depth: Int, _ body: (inout Reader) throws(ReadError) -> Void) throws(ReadError) {
            guard depth <= maximumDepth else { throw fail("nesting deeper than \(maximumDepth)") }
            guard position < bytes.endIndex, bytes[position] == UInt8(ascii: "[") else {
                throw .shape("expected an array")
            }
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

        // MARK: - Strings

        /// Reads a string value, or refuses with a shape error naming `key`.
        mutating func stringValue(for key: String) throws(ReadError) -> String {
            guard position < bytes.endIndex, bytes[position] == UInt8(ascii: "\"") else {
                throw .shape("\"\(key)\" must be a string")
            }
            return try string()
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

        /// Where the run of string content from `start` needing no unescaping ends, and whether
        /// it is ASCII (``JSONByteScanning/plainRun(in:from:)``).
        private func plainRun(from start: Int) -> (end: Int, isASCII: Bool) {
            bytes.withUnsafeBufferPointer { buffer in
                let run = JSONByteScanning.plainRun(in: buffer, from: start - bytes.startIndex)
                return (run.end + bytes.startIndex, run.isASCII)
            }
        }

        /// Reads the string whose opening quote is at the reader.
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
        private static func text(_ bytes: ArraySlice<UInt8>, isASCII: Bool? = nil) throws(ReadError) -> String {
            let result: String? = bytes.withUnsafeBufferPointer { buffer in
                let ascii = isASCII ?? buffer.allSatisfy { $0 < 0x80 }
                // `String(validating:)` is generic and costly; ASCII needs no validation.
                return ascii ? String(decoding: buffer, as: UTF8.self) : String(validating: buffer, as: UTF8.self)
            }
            guard let result else { throw .invalidUTF8 }
            return result
        }

        /// Whether `\u` + `digits` (spelling `scalar`) is how the writer escapes it.
        private static func isCanonicalEscape(_ scalar: UInt32, _ digits: ArraySlice<UInt8>) -> Bool {
            guard scalar < 0x20, ![0x08, 0x09, 0x0A, 0x0C, 0x0D].contains(scalar) else { return false }
            return digits.allSatisfy {
                ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                    || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f"))
            }
        }

        private mutating func hex4() throws(ReadError) -> UInt32 {
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

        // MARK: - Numbers

        /// Reads the number at the reader.
        private mutating func number() throws(ReadError) -> FieldValue {
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
                if position < bytes.endIndex,
                    bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")
                {
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

        private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    }
}

/// The keys of one JSON object read so far, for refusing a repeated key. Objects of the wire
/// format have at most four keys; those are kept inline, so reading such an object allocates
/// nothing. More (in a free-form value) go to a set, so a huge object costs no quadratic time.
struct SeenKeys {
    private var inline: (String?, String?, String?, String?) = (nil, nil, nil, nil)
    private var count = 0
    private var overflow: Set<String> = []

    /// Adds `key`; false when it was already there.
    mutating func insert(_ key: String) -> Bool {
        if inline.0 == key || inline.1 == key || inline.2 == key || inline.3 == key {
            return false
        }
        switch count {
        case 0: inline.0 = key
        case 1: inline.1 = key
        case 2: inline.2 = key
        case 3: inline.3 = key
        default: guard overflow.insert(key).inserted else { return false }
        }
        count += 1
        return true
    }
}
