import Referrals
public import Replication

/// The JSON shape of a case's standing between host and home authorities, the same in
/// `edt referral show --json` and in both authorities' handover packages:
/// `{"host", "home", "state", "responsible", "escalatesAt", "agreedHostLeads", "history": [...]}`,
/// each step `{"event", "party", "authority", "by", "role", "at", "recordedAt", "home",
/// "reference", "lead", "entry", "state", "applied", "notApplied"}`. Instants in London's offset.
extension CrossAuthorityHistory: CanonicalJSONWritable {
    /// The history as a JSON value.
    public var json: FieldValue { writtenJSON }

    /// Writes ``json``, its keys in canonical order.
    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.key("agreedHostLeads")
        writer.strings(machine.agreedHostLeads.map(\.rawValue).sorted())
        writer.key("escalatesAt")
        writer.londonTime(machine.awaitsEscalation ? machine.escalatesAt : nil)
        writer.key("history")
        writer.array(steps)
        writer.key("home")
        writer.string(machine.home)
        writer.key("host")
        writer.string(machine.host)
        writer.key("responsible")
        writer.string(machine.responsible)
        writer.key("state")
        writer.string(machine.state?.rawValue)
        writer.endObject()
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

extension CrossAuthorityHistory.Step: CanonicalJSONWritable {
    /// `{"event", "party", "authority", "by", "role", "at", "recordedAt", "home", "reference",
    /// "lead", "entry", "state", "applied", "notApplied"}`.
    public var json: FieldValue { writtenJSON }

    /// Writes ``json``, its keys in canonical order.
    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.key("applied")
        writer.bool(notApplied == nil)
        writer.key("at")
        writer.londonTime(at)
        writer.key("authority")
        writer.string(act?.authority)
        writer.key("by")
        writer.string(act?.by.name)
        writer.key("entry")
        writer.string(dot.map { "\($0.device.rawValue):\($0.counter)" })
        writer.key("event")
        writer.string(act?.verb.rawValue ?? CrossAuthorityAct.Verb.escalate.rawValue)
        writer.key("home")
        writer.string(act?.home)
        writer.key("lead")
        writer.string(act?.lead)
        writer.key("notApplied")
        writer.string(notApplied)
        writer.key("party")
        writer.string(party?.rawValue)
        writer.key("recordedAt")
        writer.londonTime(act?.recordedAt)
        writer.key("reference")
        writer.string(act?.reference)
        writer.key("role")
        writer.string(act?.by.role)
        writer.key("state")
        writer.string(state?.rawValue)
        writer.endObject()
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
