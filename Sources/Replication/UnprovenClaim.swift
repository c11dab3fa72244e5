/// A claim a record part makes about another device's writes that its sender cannot prove.
///
/// A sender proves its own writes (it signs what it sends), so a part may carry any write stamped
/// with the sender's dots. A write stamped with another device's dot, or a field context saying
/// "I have seen these writes of that device", is only the sender's word. Taken on trust, it lets
/// one device erase another's work: a context claiming a colleague's next writes makes the merge
/// treat them as seen and replaced, so they vanish with no conflict shown; an entry forged at a
/// colleague's next dot hides that colleague's real entry, which has the same identity.
///
/// So a receiver accepts such a claim only about writes it already holds:
/// ``Record/unprovenClaim(from:heldBy:)`` finds the first claim that goes beyond them.
public enum UnprovenClaim: Sendable, Hashable, CustomStringConvertible {
    /// A value (at `path`) or an entry (`path` nil) stamped with `dot` of another device, which
    /// the receiver does not hold, or holds with other content.
    case foreignWrite(Dot, path: FieldPath?)
    /// The context of the field at `path` claims writes of `device` up to `claimed`, where the
    /// receiver has seen that device's writes to the field only up to `held`.
    case unseenWrites(path: FieldPath, device: DeviceID, claimed: UInt64, held: UInt64)

    public var description: String {
        switch self {
        case .foreignWrite(let dot, let path?):
            "\(path) carries a value written by \(dot.device) (\(dot)) that the receiver has not had from that device"
        case .foreignWrite(let dot, nil):
            "an entry made by \(dot.device) (\(dot)) that the receiver has not had from that device"
        case .unseenWrites(let path, let device, let claimed, let held):
            "\(path) claims to have seen writes of \(device) up to \(device):\(claimed), but the receiver has seen "
                + (held == 0 ? "none of that device's writes to it" : "them only up to \(device):\(held)")
        }
    }
}

extension Record {
    /// The first claim this part, sent by `sender`, makes about other devices' writes beyond what
    /// the receiver holds of the case (`held`, nil when it holds none); nil when every such claim
    /// is backed.
    ///
    /// Backed means: a value stamped with another device's dot is covered by the held field's
    /// context (held, with the same value, or already replaced there); an entry of another device
    /// is held, with the same content; a field's context claims no write of another device beyond
    /// the held field's context. The sender's own writes and claims are its own to make.
    ///
    /// Cost follows the part: a field or entry wholly the sender's is passed over without a lookup.
    ///
    /// - Parameter proven: says of an entry of another device, not held, whether the receiver
    ///   proved it that device's by other means (its author's signature, checked with a key the
    ///   receiver trusts): such an entry is backed. None is, unless told.
    public func unprovenClaim(
        from sender: DeviceID, heldBy held: Record?, proven: (Entry) -> Bool = { _ in false }
    ) -> UnprovenClaim? {
        for field in fields {
            if let claim = Self.unprovenClaim(in: field, from: sender, heldBy: held) { return claim }
        }
        for entry in entries where entry.dot.device != sender {
            if held?.entry(at: entry.dot) == nil, proven(entry) { continue }
            guard let heldEntry = held?.entry(at: entry.dot), heldEntry == entry else {
                return .foreignWrite(entry.dot, path: nil)
            }
        }
        return nil
    }

    private static func unprovenClaim(in field: Field, from sender: DeviceID, heldBy held: Record?) -> UnprovenClaim? {
        var foreign = false
        field.register.context.forEachElement { if $0.device != sender { foreign = true } }
        guard foreign else { return nil }  // every sibling's dot is in the context: all the sender's
        let heldRegister = held?.register(at: field.path)
        let heldContext = heldRegister?.context ?? VersionVector()
        var claim: UnprovenClaim?
        field.register.forEachSibling { sibling in
            guard claim == nil, sibling.dot.device != sender else { return }
            guard heldContext.contains(sibling.dot) else {
                claim = .foreignWrite(sibling.dot, path: field.path)
                return
            }
            // Held and kept there: it must be the same write. (Replaced there: the merge drops it.)
            if let kept = heldRegister?.siblings.first(where: { $0.dot == sibling.dot }), kept.value != sibling.value {
                claim = .foreignWrite(sibling.dot, path: field.path)
            }
        }
        if let claim { return claim }
        field.register.context.forEachElement { element in
            guard claim == nil, element.device != sender, element.counter > heldContext[element.device] else { return }
            claim = .unseenWrites(
                path: field.path, device: element.device, claimed: element.counter,
                held: heldContext[element.device])
        }
        return claim
    }

    /// The entry made by `dot`, if this record holds it.
    public func entry(at dot: Dot) -> Entry? {
        entryIndex(of: dot).found.map { entries[$0] }
    }
}
