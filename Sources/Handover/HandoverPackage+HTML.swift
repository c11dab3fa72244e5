import LineProtocol
import Referrals
import Replication

/// The package as a printable page (`edt central handover --html`): what a day-team manager works
/// from. One case to a printed page (`break-after: page`), a header on each with the authority,
/// the opening and the case id; nothing fetched (no fonts, scripts, images or links); readable
/// in black and white (borders, bold and words such as OVERDUE carry the meaning, never colour);
/// every text from a referral HTML-escaped, as referral text is hostile input.
extension HandoverPackage {
    /// The whole document.
    public func html() -> String {
        var out = HTMLWriter()
        let opens = LondonTime.text(opensAt)
        let title = "Handover package: \(authority.name) (\(authority.gss)), office hours open \(opens)"
        out.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
        out.text(title)
        out.raw("</title>\n<style>\n\(Self.styleSheet)</style>\n</head>\n<body>\n")
        if cases.isEmpty {
            out.raw("<section class=\"case\">\n")
            pageHeader(&out, opens: opens, caseLine: nil)
            out.raw(
                "<p><strong>No cases to hand over.</strong> No EDT case is waiting for this authority's day team.</p>\n"
            )
            unreadableNote(&out)
            out.raw("</section>\n")
        }
        // The cases' pages are written across the cores, a run of them each, and joined in order.
        let runs = SplitWork.runs(over: cases.count, minimumRun: 64) { range in
            var run = HTMLWriter()
            for index in range {
                let item = cases[index]
                run.raw("<section class=\"case\">\n")
                pageHeader(&run, opens: opens, caseLine: (item.id.rawValue, index + 1))
                if index == 0 { unreadableNote(&run) }
                caseBody(&run, item)
                run.raw("</section>\n")
            }
            return run.result
        }
        for run in runs { out.raw(run) }
        out.raw("</body>\n</html>\n")
        return out.result
    }

    static let styleSheet = """
        @page { size: A4; margin: 15mm; }
        body { font-family: serif; font-size: 11pt; color: #000; background: #fff; margin: 0; }
        section.case { break-after: page; page-break-after: always; padding: 0 0 1em 0; }
        section.case:last-of-type { break-after: auto; page-break-after: auto; }
        header.page { border: 2px solid #000; padding: 0.3em 0.6em; margin-bottom: 0.8em; }
        header.page p { margin: 0.1em 0; }
        h2 { font-size: 12pt; border-bottom: 1px solid #000; margin: 0.9em 0 0.3em 0; }
        table { border-collapse: collapse; width: 100%; }
        th, td { border: 1px solid #000; padding: 0.2em 0.4em; text-align: left; vertical-align: top; }
        .flag { display: inline-block; border: 2px solid #000; font-weight: bold; padding: 0 0.3em; margin-right: 0.4em; }
        .overdue { font-weight: bold; text-decoration: underline; }
        .concern { white-space: pre-wrap; border-left: 3px solid #000; padding-left: 0.5em; }

        """

    private func pageHeader(_ out: inout HTMLWriter, opens: String, caseLine: (id: String, number: Int)?) {
        out.raw("<header class=\"page\">\n<p>Handover to <strong>")
        out.text("\(authority.name) (\(authority.gss))")
        out.raw("</strong>, office hours open <strong>")
        out.text(opens)
        out.raw("</strong></p>\n")
        if let caseLine {
            out.raw("<p>Case <strong>")
            out.text(caseLine.id)
            out.raw("</strong> (\(caseLine.number) of \(cases.count))</p>\n")
        }
        out.raw("</header>\n")
    }

    private func unreadableNote(_ out: inout HTMLWriter) {
        guard !unreadable.isEmpty else { return }
        out.raw("<p><span class=\"flag\">UNREADABLE RECORDS</span> These records could not be read as referrals: ")
        out.text(unreadable.map(\.rawValue).joined(separator: ", "))
        out.raw("</p>\n")
    }

    private func caseBody(_ out: inout HTMLWriter, _ item: Case) {
        var flags: [String] = []
        if item.overdue { flags.append("OVERDUE") }
        if item.carriedOver { flags.append("CARRIED OVER") }
        if item.summary.immediateProtection == true { flags.append("IMMEDIATE PROTECTION NEEDED") }
        if item.summary.childSafeNow == false { flags.append("CHILD NOT SAFE NOW") }
        if !item.conflicts.isEmpty { flags.append("CONFLICTS TO RESOLVE") }
        if !flags.isEmpty {
            out.raw("<p class=\"flags\">")
            for flag in flags { out.raw("<span class=\"flag\">\(flag)</span>") }
            out.raw("</p>\n")
        }

        out.raw("<h2>Summary</h2>\n<table>\n")
        row(&out, "Received", LondonTime.text(item.receivedAt))
        row(&out, "Host authority", item.hostAuthority)
        row(&out, "Home authority", item.homeAuthority ?? "not recorded")
        row(&out, "Child safe now", item.summary.childSafeNow.map { $0 ? "Yes" : "NO" } ?? "not recorded")
        row(
            &out, "Immediate protection needed",
            item.summary.immediateProtection.map { $0 ? "YES" : "No" } ?? "not recorded")
        out.raw("</table>\n<p><strong>Concern</strong></p>\n<div class=\"concern\">")
        out.text(item.summary.concern ?? "not recorded")
        out.raw("</div>\n")

        out.raw("<h2>Children</h2>\n")
        if item.summary.children.isEmpty {
            out.raw("<p>No child recorded.</p>\n")
        } else {
            out.raw("<table>\n<tr><th>Name</th><th>Date of birth or age</th><th>Where the child is now</th></tr>\n")
            for child in item.summary.children {
                var born = child.dateOfBirth ?? child.ageEstimate.map { "about \($0) years" } ?? "not recorded"
                if child.unborn { born = "unborn, expected " + (child.expectedDate ?? "date not recorded") }
                cells(&out, [child.name ?? "name not recorded", born, child.location ?? "not recorded"])
            }
            out.raw("</table>\n")
        }

        out.raw("<h2>Routed to</h2>\n<p><strong>")
        let route = item.routedTo
        switch route.destination {
        case .frontDoor: out.text("Front door: \(route.name ?? frontDoor)")
        case .team:
            out.text("Team: \(route.team ?? "")" + (route.name.map { ", allocated worker \($0)" } ?? ""))
        case .worker: out.text("Worker: \(route.name ?? "")")
        }
        out.raw("</strong> (rule ")
        out.text(route.rule.rawValue)
        out.raw(": ")
        out.text(route.reason)
        out.raw(")</p>\n")

        out.raw("<h2>Between host and home authorities</h2>\n<p>")
        if let cross = item.crossAuthority {
            out.text(cross.summary)
            out.raw("</p>\n<ul>\n")
            for step in cross.steps {
                out.raw("<li>")
                out.text(step.line)
                out.raw("</li>\n")
            }
            out.raw("</ul>\n")
        } else {
            if let home = item.homeAuthority, home != item.hostAuthority {
                out.text("The child's home authority is recorded as \(home), but the case was never forwarded to it.")
            } else {
                out.raw("Not a cross-authority case.")
            }
            out.raw("</p>\n")
        }

        out.raw("<h2>Open deadlines</h2>\n")
        if item.deadlines.isEmpty {
            out.raw("<p>None open.</p>\n")
        } else {
            out.raw("<table>\n<tr><th>Deadline</th><th>Due</th><th>Status</th></tr>\n")
            for deadline in item.deadlines {
                out.raw("<tr><td>")
                out.text(deadline.name.rawValue)
                out.raw("</td><td>")
                out.text(LondonTime.text(deadline.due))
                out.raw("</td><td>")
                if deadline.status == .overdue {
                    out.raw("<span class=\"overdue\">OVERDUE</span>")
                } else {
                    out.text(deadline.status.rawValue)
                }
                out.raw("</td></tr>\n")
            }
            out.raw("</table>\n")
        }

        out.raw("<h2>What remains to do</h2>\n")
        if item.openTasks.isEmpty {
            out.raw("<p>Nothing recorded as open.</p>\n")
        } else {
            out.raw("<ol>\n")
            for task in item.openTasks {
                out.raw("<li>&#9744; ")
                out.text(task.summary)
                out.raw("</li>\n")
            }
            out.raw("</ol>\n")
        }

        out.raw("<h2>Actions the EDT took</h2>\n")
        if item.actionsTaken.isEmpty {
            out.raw("<p>No action recorded.</p>\n")
        } else {
            out.raw("<table>\n<tr><th>When</th><th>Who</th><th>What</th></tr>\n")
            for action in item.actionsTaken {
                let who = [action.by, action.role].compactMap { $0 }.joined(separator: ", ")
                cells(&out, [action.at.map(LondonTime.text) ?? "no instant", who, action.text])
            }
            out.raw("</table>\n")
        }

        if !item.uncertain.isEmpty {
            out.raw("<p><strong>Read from fields in conflict (the cautious way):</strong> ")
            out.text(item.uncertain.joined(separator: ", "))
            out.raw("</p>\n")
        }
    }

    private func row(_ out: inout HTMLWriter, _ name: String, _ value: String) {
        out.raw("<tr><th>")
        out.text(name)
        out.raw("</th><td>")
        out.text(value)
        out.raw("</td></tr>\n")
    }

    private func cells(_ out: inout HTMLWriter, _ values: [String]) {
        out.raw("<tr>")
        for value in values {
            out.raw("<td>")
            out.text(value)
            out.raw("</td>")
        }
        out.raw("</tr>\n")
    }
}

/// Builds an HTML document: markup written as is, text escaped.
struct HTMLWriter {
    private(set) var result = ""

    mutating func raw(_ markup: String) { result += markup }

    /// Appends `text` escaped for element content and attribute values.
    mutating func text(_ text: String) { result += Self.escaped(text) }

    static func escaped(_ text: String) -> String {
        func special(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: "&") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">")
                || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
        }
        guard text.utf8.contains(where: special) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 32)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): out.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\""): out.append(contentsOf: "&quot;".utf8)
            case UInt8(ascii: "'"): out.append(contentsOf: "&#39;".utf8)
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
