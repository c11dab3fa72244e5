import Foundation
public import Logging
public import Referrals
public import Replication

/// Keeps each authority's handover package at its opening of office hours while the centre
/// serves (``HandoverDesk/keepDuePackages(now:)``): on starting, so an opening that passed
/// while the centre was stopped is handed over late rather than never, then at every next
/// opening of an authority with cases, looking again at least every ``longestWait`` (cases of
/// a new authority may arrive in between). After a sync has brought changes, it also hands
/// over the cases that reached the centre late (``handOverLateArrivals()``). It is also the
/// clock of the host/home state machine: at referral + 24 hours it escalates each forwarded case
/// neither accepted nor agreed on (``escalateDue()``), before keeping packages, so a package shows
/// the escalation. `now` is the clock (the system's by default).
public struct HandoverScheduler: Sendable {
    public let desk: HandoverDesk
    /// The most time between two looks.
    public let longestWait: Duration
    let logger: Logger
    let now: @Sendable () -> Instant

    public init(
        desk: HandoverDesk, logger: Logger, longestWait: Duration = .seconds(60),
        now: (@Sendable () -> Instant)? = nil
    ) {
        self.desk = desk
        self.logger = logger
        self.longestWait = longestWait
        self.now = now ?? { Instant(Date()) }
    }

    /// Looks, keeps what is due and sleeps until the next opening, until the task is cancelled.
    /// When the centre has stored changes since the last look, it also hands over the cases
    /// that reached it late (``handOverLateArrivals()``).
    public func run() async {
        var seen: Int64?
        while !Task.isCancelled {
            await escalateDue()
            await keepDue()
            let newest = try? await desk.storage.newestSequence()
            if let newest, newest != seen {
                await handOverLateArrivals()
                seen = newest
            }
            let wait = await waitBeforeNextLook()
            try? await Task.sleep(for: wait)
        }
    }

    /// Hands over, in an addendum to the package kept at today's opening, the cases of an
    /// authority in office hours that reached the centre after it was kept; a failure is logged.
    @discardableResult
    public func handOverLateArrivals() async -> Int {
        do throws(HandoverDesk.Unavailable) {
            let kept = try await desk.handOverLateArrivals(now: now())
            if kept > 0 { logger.info("late cases handed over in addenda", metadata: ["addenda": "\(kept)"]) }
            return kept
        } catch {
            logger.error("cannot hand over late cases", metadata: ["reason": "\(error.message)"])
            return 0
        }
    }

    /// Records the clock's escalation of every forwarded case whose 24 hours passed
    /// (``CrossAuthorityService/escalateDue(now:)``); a failure is logged and tried again at the next look.
    @discardableResult
    public func escalateDue() async -> [RecordID] {
        do throws(CentralError) {
            let escalated = try await CrossAuthorityService(storage: desk.storage).escalateDue(now: now())
            for id in escalated {
                logger.notice(
                    "case escalated to senior managers: 24 hours passed from the referral with neither acceptance nor agreement",
                    metadata: ["case": "\(id)", "event": "escalate", "party": "clock"])
            }
            return escalated
        } catch {
            logger.error("cannot escalate the cases due", metadata: ["reason": "\(error.message)"])
            return []
        }
    }

    /// Keeps the packages due now; a failure is logged and tried again at the next look.
    @discardableResult
    public func keepDue() async -> [HandoverDesk.KeptOpening] {
        do throws(HandoverDesk.Unavailable) {
            let kept = try await desk.keepDuePackages(now: now())
            for package in kept {
                logger.info(
                    "handover package kept",
                    metadata: [
                        "authority": "\(package.authority)", "opensAt": "\(package.opensAt)",
                        "cases": "\(package.cases.count)",
                    ])
            }
            return kept
        } catch {
            logger.error("cannot keep the handover packages due", metadata: ["reason": "\(error.message)"])
            return []
        }
    }

    /// Until the next opening of an authority with cases or the next escalation due (a second
    /// past it), at most ``longestWait``.
    public func waitBeforeNextLook() async -> Duration {
        let current = now()
        let opening = try? await desk.nextOpening(after: current)
        // One due already and not escalated (refused, or the database failed) is tried again at
        // the next look, not every second.
        let escalation = (try? await desk.storage.nextEscalation()).flatMap { $0 }.flatMap { $0 > current ? $0 : nil }
        guard let next = [opening, escalation].compactMap({ $0 }).min() else { return longestWait }
        let seconds = next.secondsSinceEpoch - current.secondsSinceEpoch + 1
        return min(longestWait, .seconds(max(1, seconds)))
    }
}
