import LineProtocol
import Referrals
public import Replication

/// The package as the JSON `edt central handover --json` prints (`Docs/CLI.md`):
/// `{"authority", "opensAt", "cases": [{"id", "receivedAt", "deadlines", "openTasks",
/// "crossAuthority", "routedTo", "carriedOver", "overdue", ...}]}`, with these keys besides:
/// `authorityName`, `frontDoor`, `outOfHoursFrom` (the closing that began the window, or null),
/// `unreadable` (ids), and per case `hostAuthority`, `homeAuthority`, `summary`, `actionsTaken`,
/// `missingInformation`, `conflicts`, `uncertain`. Deadlines have the shape of
/// ``DeadlineJSON/deadlines(_:)``; instants are in London's offset; the bytes are canonical
/// (keys sorted, no spaces), so the same package gives the same bytes.
extension HandoverPackage {
    /// The package as a JSON value.
    public var json: FieldValue {
        var members = headerMembers
        members["cases"] = .array(cases.map(\.json))
        return .object(members)
    }

    /// Every member of the package but its cases.
    private var headerMembers: [String: FieldValue] {
        [
            "authority": .string(authority.gss),
            "authorityName": .string(authority.name),
            "opensAt": .string(LondonTime.text(opensAt)),
            "outOfHoursFrom": window.closedAt.map { .string(LondonTime.text($0)) } ?? .null,
            "frontDoor": .string(frontDoor),
            "unreadable": .array(unreadable.map { .string($0.rawValue) }),
        ]
    }

    /// The canonical JSON bytes of the package (no newline after it): the bytes of ``json``,
    /// written a case at a time so the document is never held whole as a value, runs of cases
    /// side by side on the machine's cores.
    public func jsonBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1_024 + cases.count * 2_048)
        let members = headerMembers
        let keys = (Array(members.keys) + ["cases"]).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        bytes.append(UInt8(ascii: "{"))
        for (index, key) in keys.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONPayload.write(string: key, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            if let value = members[key] {
                JSONPayload.write(value, to: &bytes)
                continue
            }
            bytes.append(UInt8(ascii: "["))
            // The cases are written across the cores, a run of them each, and joined in order.
            let runs = SplitWork.runs(over: cases.count, minimumRun: 64) { range in
                var run: [UInt8] = []
                run.reserveCapacity(range.count * 2_048)
                for number in range {
                    if number > range.lowerBound { run.append(UInt8(ascii: ",")) }
                    cases[number].writeJSON(to: &run)
                }
                return run
            }
            for (number, run) in runs.enumerated() where !run.isEmpty {
                if number > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(contentsOf: run)
            }
            bytes.append(UInt8(ascii: "]"))
        }
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}

extension HandoverPackage.Case {
    /// One case as a JSON value.
    public var json: FieldValue { .object(Dictionary(uniqueKeysWithValues: members)) }

    /// The canonical JSON of ``json``, appended to `bytes` without making the object first: its
    /// members are listed in the canonical (sorted) order already.
    func writeJSON(to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "{"))
        for (index, (key, value)) in members.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONPayload.write(string: key, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            JSONPayload.write(value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// The case's members, in the order of their keys' bytes (the canonical order).
    private var members: [(String, FieldValue)] {
        [
            ("actionsTaken", .array(actionsTaken.map(\.json))),
            ("carriedOver", .bool(carriedOver)),
            ("conflicts", .array(conflicts.map(FieldValue.string))),
            ("crossAuthority", crossAuthority?.json ?? .null),
            ("deadlines", DeadlineJSON.deadlines(deadlines)),
            ("homeAuthority", homeAuthority.map(FieldValue.string) ?? .null),
            ("hostAuthority", .string(hostAuthority)),
            ("id", .string(id.rawValue)),
            ("missingInformation", .array(missingInformation.map(FieldValue.string))),
            ("openTasks", .array(openTasks.map(\.json))),
            ("overdue", .bool(overdue)),
            ("receivedAt", .string(LondonTime.text(receivedAt))),
            ("routedTo", routedTo.json),
            ("summary", summary.json),
            ("uncertain", .array(uncertain.map(FieldValue.string))),
        ]
    }
}

extension HandoverPackage.Summary {
    /// `{"children": [...], "concern", "childSafeNow", "immediateProtection"}`.
    public var json: FieldValue {
        .object([
            "children": .array(children.map(\.json)),
            "concern": concern.map(FieldValue.string) ?? .null,
            "childSafeNow": childSafeNow.map(FieldValue.bool) ?? .null,
            "immediateProtection": immediateProtection.map(FieldValue.bool) ?? .null,
        ])
    }
}

extension HandoverPackage.Child {
    /// `{"id", "name", "dateOfBirth", "ageEstimate", "unborn", "expectedDate", "location"}`.
    public var json: FieldValue {
        .object([
            "id": .string(id),
            "name": name.map(FieldValue.string) ?? .null,
            "dateOfBirth": dateOfBirth.map(FieldValue.string) ?? .null,
            "ageEstimate": ageEstimate.map(FieldValue.integer) ?? .null,
            "unborn": .bool(unborn),
            "expectedDate": expectedDate.map(FieldValue.string) ?? .null,
            "location": location.map(FieldValue.string) ?? .null,
        ])
    }
}

extension HandoverPackage.Action {
    /// `{"entry", "kind", "at", "by", "role", "text", "measures"}`.
    public var json: FieldValue {
        .object([
            "entry": .string(entry),
            "kind": .string(kind),
            "at": at.map { .string(LondonTime.text($0)) } ?? .null,
            "by": by.map(FieldValue.string) ?? .null,
            "role": role.map(FieldValue.string) ?? .null,
            "text": .string(text),
            "measures": .array(measures.map(FieldValue.string)),
        ])
    }
}

extension HandoverPackage.Task {
    /// `{"task", "entry", "field", "summary"}`: the open tasks' shape, with the field.
    public var json: FieldValue {
        .object([
            "task": .string(kind.name),
            "entry": entry.map(FieldValue.string) ?? .null,
            "field": field.map(FieldValue.string) ?? .null,
            "summary": .string(summary),
        ])
    }
}

extension Route {
    /// `{"destination": "team"|"worker"|"front-door", "name", "team", "rule", "child", "reason"}`.
    public var json: FieldValue {
        .object([
            "destination": .string(destination.rawValue),
            "name": name.map(FieldValue.string) ?? .null,
            "team": team.map(FieldValue.string) ?? .null,
            "rule": .string(rule.rawValue),
            "child": child.map(FieldValue.string) ?? .null,
            "reason": .string(reason),
        ])
    }
}
