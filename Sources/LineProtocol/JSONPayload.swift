/// The JSON of EDTLP payloads: a strict reader and a canonical writer for ``FieldValue``.
///
/// Canonical form (what the writer produces, and what golden vectors hold): no whitespace
/// outside strings; object keys sorted by their UTF-8 bytes; strings escape only `"`, `\`, and
/// control characters (`\b \f \n \r \t`, others as `\u00XX` in lowercase hex); numbers that are
/// whole and fit 64 bits are written as integers, others in Swift's shortest round-trip form.
///
/// The reader accepts RFC 8259 JSON without insignificant whitespace; it refuses duplicate keys,
/// lone surrogates, numbers out of range, and nesting deeper than the limit.
///
/// Writing is in `JSONPayload+Writing.swift`, reading in `JSONPayload+Reading.swift`; both find
/// the plain runs of strings eight bytes at a time with ``JSONByteScanning``.
public enum JSONPayload {}
