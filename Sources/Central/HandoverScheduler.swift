import Foundation
public import Logging
public import Referrals

/// Keeps each authority's handover package at its opening of office hours while the centre
/// serves (``HandoverDesk/keepDuePackages(now:)``): on starting, so an opening that passed
/// while the centre was stopped is handed over late rather than never, then at every next
/// opening of an authority with cases, looking again at least every ``longestWait`` (cases of
/// a new authority may arrive in between). `now` is the clock (the system's by default).
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
    public func run() async {
        while !Task.isCancelled {
            await keepDue()
            let wait = await waitBeforeNextLook()
            try? await Task.sleep(for: wait)
        }
    }

    /// Keeps the packages due now; a failure is logged and tried again at the next look.
    @discardableResult
    public func keepDue() async -> [KeptPackage] {
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

    /// Until the next opening of an authority with cases (a second past it), at most ``longestWait``.
    public func waitBeforeNextLook() async -> Duration {
        let current = now()
        guard let next = try? await desk.nextOpening(after: current) else { return longestWait }
        let seconds = next.secondsSinceEpoch - current.secondsSinceEpoch + 1
        return min(longestWait, .seconds(max(1, seconds)))
    }
}
