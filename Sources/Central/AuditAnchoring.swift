import Foundation
public import Logging
public import Referrals

/// Signs the audit log's head as an anchor (``AuditAnchor``) and keeps it: on demand
/// (`edt central audit anchor`), and while the centre serves, every interval in which the log
/// grew, printing the anchor line in the server's log so it is kept outside the database too.
public enum AuditAnchoring {
    /// Anchors the log's head as it is at `at`, keeps the anchor, and returns it.
    public static func anchor(_ storage: any CentralStorage, at: Instant) async throws(CentralError) -> AuditAnchor {
        let head = try await storage.auditHead()
        let anchor: AuditAnchor
        do {
            anchor = try AuditAnchor(
                identity: storage.identity, number: head.number, hash: head.hash, at: at, key: storage.signingKey)
        } catch {
            throw CentralError(.storage, "the audit anchor cannot be signed: \(error)")
        }
        try await storage.keepAnchor(anchor)
        return anchor
    }

    /// Anchors the head every `interval` while the log grows, logging each anchor line, until
    /// the task is cancelled. A failure is logged and tried again at the next interval.
    public static func run(_ storage: any CentralStorage, every interval: Duration, logger: Logger) async {
        var anchored: Int64 = -1
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            do {
                let head = try await storage.auditHead()
                guard head.number != anchored else { continue }
                let anchor = try await anchor(storage, at: Instant(Date()))
                anchored = anchor.number
                logger.notice("audit anchor: \(anchor.line)")
            } catch {
                logger.error("the audit log could not be anchored (tried again later): \(error.message)")
            }
        }
    }
}
