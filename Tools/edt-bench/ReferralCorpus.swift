import Replication

/// Deterministic referral-shaped records for the benchmarks: about 2 KB each, 20 fields and one
/// conversation entry, written by an intake device. Each laptop is built from its own run of the
/// same history, so the two replicas share no storage, as replicas that came over a wire would not.
struct ReferralCorpus {
    let records: Int
    let ids: [RecordID]
    private let fieldPaths: [(FieldPath, Int)]

    init(records: Int) throws {
        self.records = records
        ids = try (0..<records).map {
            try RecordID("referral-\(String($0, radix: 16))-\(String($0 &* 2_654_435_761 % 1_000_003, radix: 36))")
        }
        fieldPaths = try [
            ("receivedAt", 20), ("receivedBy.name", 18), ("receivedBy.role", 24), ("hostAuthority", 9),
            ("homeAuthority", 9), ("channel", 6), ("concern", 620), ("children.c1.name", 22),
            ("children.c1.dateOfBirth", 10), ("children.c1.nhsNumber", 10), ("children.c1.location", 60),
            ("children.c1.condition", 180), ("referrer.name", 20), ("referrer.role", 24),
            ("referrer.agency", 30), ("referrer.phone", 13), ("family.address", 80),
            ("household.h1.name", 22), ("consent.reason", 160), ("childViews", 300),
        ].map { (try FieldPath($0.0), $0.1) }
    }

    var approximateRecordBytes: Int { fieldPaths.reduce(0) { $0 + $1.1 } + 300 }

    /// A replica for `device` holding the common history.
    func laptop(_ device: String) throws -> Replica {
        var intake = Replica(device: try DeviceID("edt-intake"))
        for (number, id) in ids.enumerated() {
            for (path, length) in fieldPaths {
                intake.write(.string(Self.text(seed: number &* 31 &+ length, length: length)), to: path, in: id)
            }
            try intake.append(
                kind: "conversation",
                payload: .object([
                    "start": .string("2027-03-27T02:10:00Z"), "end": .string("2027-03-27T02:24:00Z"),
                    "present": .array([.string("EDT social worker"), .string("referrer")]),
                    "said": .string(Self.text(seed: number, length: 240)),
                ]), to: id)
        }
        var laptop = Replica(device: try DeviceID(device))
        laptop.merge(intake)
        return laptop
    }

    /// B changes one field in `count` records; A changes one field in half of them, half of those
    /// on the same field as B (a conflict). Returns how many fields B changed.
    func diverge(a: inout Replica, b: inout Replica, count: Int) throws -> Int {
        let location = try FieldPath("children.c1.location")
        let phone = try FieldPath("referrer.phone")
        let stride = max(1, records / max(count, 1))
        var changed = 0
        for step in 0..<count {
            let id = ids[(step * stride) % records]
            b.write(.string("Moved to emergency foster carer, placement \(step)"), to: location, in: id)
            changed += 1
            if step % 2 == 0 {
                let path = step % 4 == 0 ? location : phone
                a.write(.string("Updated by A \(step)"), to: path, in: id)
            }
        }
        return changed
    }

    /// Readable filler text of exactly `length` bytes.
    static func text(seed: Int, length: Int) -> String {
        let words = [
            "child", "mother", "school", "police", "home", "night", "safe", "worried", "neighbour",
            "bruise", "alone", "station", "called", "said", "door", "car", "late", "hungry",
        ]
        var out = ""
        var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        while out.utf8.count < length {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            out += words[Int(state % UInt64(words.count))] + " "
        }
        return String(out.utf8.prefix(length)) ?? out
    }
}
