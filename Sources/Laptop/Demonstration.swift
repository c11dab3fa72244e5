import Handover
import Referrals
import Replication

/// The demo's story (`edt demo`): two laptop replicas, in memory, diverge on one referral while
/// offline, merge, keep the concurrent edits to one field as a conflict, and a worker resolves
/// it; then the referral's deadlines by the host authority's calendar (the shipped defaults).
/// Nothing is written to disk and no network is used; ``run()`` returns the lines to print.
public struct Demonstration: Sendable {
    let referral: RecordID
    let laptopA: DeviceID
    let laptopB: DeviceID

    public init() throws {
        referral = try RecordID("a3f1c9e2-7b4d-4c1a-9e0f-2d6b8a5c7e11")
        laptopA = try DeviceID("edt-laptop-a")
        laptopB = try DeviceID("edt-laptop-b")
    }

    /// Plays the story and tells it, a line at a time.
    public func run() throws -> [String] {
        var lines: [String] = []
        var a = Replica(device: laptopA)
        var b = Replica(device: laptopB)

        lines.append("1. Laptop A records a referral at 02:10, offline.")
        a.write(.string("2027-03-27T02:10:00Z"), to: try FieldPath("receivedAt"), in: referral)
        a.write(.string("E06000038"), to: try FieldPath("hostAuthority"), in: referral)
        a.write(.bool(true), to: try FieldPath("verbal"), in: referral)
        a.write(.bool(true), to: try FieldPath("referrer.professional"), in: referral)
        a.write(
            .string("Child (7) found alone at Reading station, says mum has not come home."),
            to: try FieldPath("concern"), in: referral)
        a.write(
            .string("British Transport Police office, Reading station"),
            to: try FieldPath("children.c1.location"), in: referral)
        lines.append(contentsOf: show(a, label: "   A"))

        lines.append("2. A and B sync (B receives A's delta).")
        b.apply(a.delta(since: b.knowledge))
        lines.append("   digests: A \(a.digest().prefix(16))  B \(b.digest().prefix(16))")

        lines.append("3. Both laptops go offline and edit the case at the same time.")
        a.write(.string("Foster carer, 12 Oak Road, Reading"), to: try FieldPath("children.c1.location"), in: referral)
        try a.append(
            kind: "decision",
            payload: .object([
                "text": .string("Place with emergency foster carer tonight."),
                "by": .string("J. Okafor"), "role": .string("EDT social worker"),
            ]), to: referral)
        b.write(
            .string("Grandmother's home, 4 Elm Close, Slough"), to: try FieldPath("children.c1.location"), in: referral)
        b.write(.string("07700 900123"), to: try FieldPath("referrer.phone"), in: referral)
        lines.append("   A sets children.c1.location to the foster carer and records a decision.")
        lines.append("   B sets children.c1.location to the grandmother and adds the referrer's phone.")

        lines.append("4. They sync again; B's delta reaches A twice (re-sending is harmless).")
        let fromA = a.delta(since: b.knowledge)
        let fromB = b.delta(since: a.knowledge)
        a.apply(fromB)
        a.apply(fromB)
        b.apply(fromA)
        lines.append(
            "   delta A→B: \(fromA.fieldCount) fields, \(fromA.entryCount) entries; B→A: \(fromB.fieldCount) fields, \(fromB.entryCount) entries"
        )
        lines.append(contentsOf: show(a, label: "   A"))
        lines.append(contentsOf: show(b, label: "   B"))
        lines.append(
            "   digests: A \(a.digest().prefix(16))  B \(b.digest().prefix(16))  equal: \(a.digest() == b.digest())")

        lines.append("5. On laptop B a worker reads both values and resolves the conflict.")
        b.write(
            .string("Grandmother's home, 4 Elm Close, Slough (agreed with foster team 03:05)"),
            to: try FieldPath("children.c1.location"), in: referral)
        a.apply(b.delta(since: a.knowledge))
        lines.append(contentsOf: show(a, label: "   A"))
        lines.append("   conflicts left: A \(a.conflicts.count), B \(b.conflicts.count)")
        lines.append(
            "   digests: A \(a.digest().prefix(16))  B \(b.digest().prefix(16))  equal: \(a.digest() == b.digest())")

        lines.append(contentsOf: try deadlines(a))
        return lines
    }

    /// Step 6: the deadlines of the referral, as the day team will see them.
    private func deadlines(_ replica: Replica) throws -> [String] {
        let asOf = Instant(secondsSinceEpoch: 1_806_393_600)  // Tuesday 30 March 2027 09:00 BST
        var lines = [
            "6. Its deadlines by Reading's calendar (shipped defaults: Mon-Fri 09:00-17:00), as of \(asOf.london).",
            "   Received Saturday 02:10 GMT; Monday 29 March is Easter Monday; the clocks went forward on Sunday 28.",
        ]
        let directory = AuthorityDirectory.shipped
        guard let record = replica[referral], let timeline = ReferralTimeline(record: record),
            let authority = directory.authority(timeline.hostAuthority)
        else { return lines + ["   (no deadlines: the referral lacks its receipt or host authority)"] }
        let schedule = Deadlines.schedule(
            receivedAt: timeline.receivedAt, verbal: false, authority: authority,
            calendar: directory.calendar(for: authority))
        if let handover = schedule.handoverAt {
            lines.append("   Received out of hours: handed over at Reading's next opening, \(handover.london).")
        }
        for deadline in Deadlines.compute(
            timeline, authority: authority, calendar: directory.calendar(for: authority), at: asOf)
        {
            let state =
                switch deadline.status {
                case .pending: "pending"
                case .met: "met by \(deadline.metBy ?? "?")"
                case .overdue: "OVERDUE"
                }
            lines.append("   \(deadline.name.rawValue): due \(deadline.due.london), \(state)")
        }
        return lines
    }

    private func show(_ replica: Replica, label: String) -> [String] {
        guard let record = replica[referral] else { return ["\(label): (no record)"] }
        var lines: [String] = []
        for field in record.fields {
            let values = field.register.values.map(\.description)
            if field.register.isConflicted {
                lines.append("\(label)  \(field.path) CONFLICT, kept both: \(values.joined(separator: " | "))")
            } else {
                lines.append("\(label)  \(field.path) = \(values.joined())")
            }
        }
        for entry in record.entries {
            lines.append("\(label)  entry \(entry.kind) by \(entry.dot): \(entry.payload)")
        }
        return lines
    }
}
