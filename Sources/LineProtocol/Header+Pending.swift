/// What a device reports of itself in its push header (`Protocol/PROTOCOL.md` §1.1): how many
/// records it holds that the centre has not acknowledged. The centre keeps the figure for its
/// administrators (`edt central devices`); it changes nothing of the sync.
///
/// ```swift
/// parameters.append((Header.pendingParameter, String(pending)))
/// let reported = header.pending  // nil: not reported, or not a number
/// ```
extension Header {
    /// `pending=<n>`: on a push, the records the device holds that the centre has not
    /// acknowledged as it sends the request, those the request carries included. Decimal, no
    /// leading zero. Optional: a device of an earlier version does not send it.
    public static let pendingParameter = "pending"

    /// The number of pending records the header reports; nil when it reports none, or when the
    /// value is not a decimal number without a sign or leading zero (a receiver ignores such a
    /// value, as it ignores a parameter it does not know).
    public var pending: Int? {
        guard let text = self[Self.pendingParameter], !text.isEmpty, text.utf8.count <= 18,
            text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), text == "0" || text.first != "0"
        else { return nil }
        return Int(text)
    }
}
