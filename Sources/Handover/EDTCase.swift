public import Referrals

/// The stretch of time an out-of-hours team covers between two spells of office hours: from a
/// closing of the offices (included) to the next opening (excluded). A referral received in it
/// is an EDT case, handed over at ``opensAt``.
public struct OutOfHoursWindow: Sendable, Hashable {
    /// The closing of office hours that starts the window; nil when the office has not closed
    /// within the ten years searched before the opening (an office that never opened).
    public let closedAt: Instant?
    /// The opening of office hours that ends it: the handover.
    public let opensAt: Instant

    public init(closedAt: Instant?, opensAt: Instant) {
        self.closedAt = closedAt
        self.opensAt = opensAt
    }

    /// Whether `instant` falls in the window: at or after the closing, before the opening.
    public func contains(_ instant: Instant) -> Bool {
        instant.secondsSinceEpoch < opensAt.secondsSinceEpoch
            && closedAt.map { instant.secondsSinceEpoch >= $0.secondsSinceEpoch } ?? true
    }
}

extension WorkingCalendar {
    /// Whether a referral received at `receivedAt` is an EDT case for this calendar's authority:
    /// received outside its office hours. Office hours are half-open, so a referral received
    /// exactly at the opening is in hours (not an EDT case) and one received exactly at the
    /// closing is out of hours (an EDT case).
    public func isEDTCase(receivedAt: Instant) -> Bool { !isInHours(receivedAt) }

    /// The last closing of office hours at or before `instant`; nil when there is none in the ten
    /// years before it.
    public func previousClosing(atOrBefore instant: Instant) -> Instant? { last(\.closes, atOrBefore: instant) }

    /// The last opening of office hours at or before `instant`: the handover most recently due.
    /// Nil when there is none in the ten years before it.
    public func previousOpening(atOrBefore instant: Instant) -> Instant? { last(\.opens, atOrBefore: instant) }

    /// The last instant at or before `instant` at which a working day's office hours reach
    /// `edge` (their opening or their closing).
    private func last(_ edge: KeyPath<OpeningSpan, ClockTime>, atOrBefore instant: Instant) -> Instant? {
        var day = LondonTime.day(of: instant)
        for _ in 0..<Self.searchLimit {
            if let span = span(on: day) {
                let at = LondonTime.instant(on: day, minute: span[keyPath: edge].minutes)
                if at.secondsSinceEpoch <= instant.secondsSinceEpoch { return at }
            }
            day = day.adding(days: -1)
        }
        return nil
    }

    /// The out-of-hours window that ends at the first opening at or after `instant` (from the
    /// closing before that opening); nil when the office never opens within ten years.
    public func outOfHoursWindow(endingAtOpeningAtOrAfter instant: Instant) -> OutOfHoursWindow? {
        guard let opensAt = nextOpening(atOrAfter: instant) else { return nil }
        return outOfHoursWindow(endingAt: opensAt)
    }

    /// The out-of-hours window that ends at the opening `opensAt`: from the previous closing.
    public func outOfHoursWindow(endingAt opensAt: Instant) -> OutOfHoursWindow {
        OutOfHoursWindow(closedAt: previousClosing(atOrBefore: opensAt), opensAt: opensAt)
    }
}

extension AuthorityDirectory {
    /// Whether a referral received at `receivedAt` and recorded for `authority` (its host) is an
    /// EDT case: received outside that authority's office hours, by its own calendar. Nil when
    /// the authority is not known.
    public func isEDTCase(receivedAt: Instant, authority code: String) -> Bool? {
        guard let authority = authority(code) else { return nil }
        return calendar(for: authority).isEDTCase(receivedAt: receivedAt)
    }
}
