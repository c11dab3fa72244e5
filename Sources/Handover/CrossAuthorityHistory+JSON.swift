import Referrals
public import Replication

/// The JSON shape of a case's standing between host and home authorities, the same in
/// `edt referral show --json` and in both authorities' handover packages:
/// `{"host", "home", "state", "responsible", "escalatesAt", "agreedHostLeads", "history": [...]}`,
/// each step `{"event", "party", "authority", "by", "role", "at", "recordedAt", "home",
/// "reference", "lead", "entry", "state", "applied", "notApplied"}`. Instants in London's offset.
extension CrossAuthorityHistory {
    /// The history as a JSON value.
    public var json: FieldValue {
        .object([
            "host": .string(machine.host),
            "home": machine.home.map(FieldValue.string) ?? .null,
            "state": machine.state.map { .string($0.rawValue) } ?? .null,
            "responsible": .string(machine.responsible),
            "escalatesAt": machine.awaitsEscalation ? .string(machine.escalatesAt.description) : .null,
            "agreedHostLeads": .array(machine.agreedHostLeads.map(\.rawValue).sorted().map(FieldValue.string)),
            "history": .array(steps.map(\.json)),
        ])
    }

    /// One line a person reads: the state, who is responsible, and what waits.
    public var summary: String {
        let home = machine.home ?? "no home authority"
        var text = "host \(machine.host), home \(home): \(machine.state?.rawValue ?? "not forwarded")"
        text += "; \(machine.responsible) responsible"
        if machine.awaitsEscalation {
            text += "; escalated to senior managers at \(machine.escalatesAt) unless settled"
        }
        if !machine.agreedHostLeads.isEmpty {
            let agreed = machine.agreedHostLeads.map(\.rawValue).sorted().joined(separator: ", ")
            text += "; \(agreed) agreed the host carries on, the other's agreement awaited"
        }
        return text
    }
}

extension CrossAuthorityHistory.Step {
    /// `{"event", "party", "authority", "by", "role", "at", "recordedAt", "home", "reference",
    /// "lead", "entry", "state", "applied", "notApplied"}`.
    public var json: FieldValue {
        func text(_ value: String?) -> FieldValue { value.map(FieldValue.string) ?? .null }
        return .object([
            "event": .string(act?.verb.rawValue ?? CrossAuthorityAct.Verb.escalate.rawValue),
            "party": text(party?.rawValue),
            "authority": text(act?.authority),
            "by": text(act?.by.name),
            "role": text(act?.by.role),
            "at": .string(at.description),
            "recordedAt": text(act?.recordedAt.description),
            "home": text(act?.home),
            "reference": text(act?.reference),
            "lead": text(act?.lead),
            "entry": text(dot.map { "\($0.device.rawValue):\($0.counter)" }),
            "state": text(state?.rawValue),
            "applied": .bool(notApplied == nil),
            "notApplied": text(notApplied),
        ])
    }

    /// One line a person reads.
    public var line: String {
        let verb = act?.verb.rawValue ?? "escalate"
        let who = act.map { "\($0.by.name) (\($0.by.role)\($0.authority.map { ", \($0)" } ?? ""))" } ?? "the clock"
        var text = "\(at) \(verb) by \(who)"
        if let home = act?.home { text += " to \(home)" }
        if let reference = act?.reference { text += ", ref \(reference)" }
        if let lead = act?.lead { text += ", \(lead) leads" }
        if let state { text += " → \(state.rawValue)" }
        if let notApplied { text += " — not applied: \(notApplied)" }
        return text
    }
}
