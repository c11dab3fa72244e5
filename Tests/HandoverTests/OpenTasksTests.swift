import Handover
import Referrals
import Testing

/// The open tasks of a referral, from its entries.
@Suite("Open tasks")
struct OpenTasksTests {
    static func event(
        _ kind: ReferralTimeline.Kind, _ time: String, _ reference: String, refersTo: String? = nil,
        outcome: String? = nil
    ) -> ReferralTimeline.Event {
        ReferralTimeline.Event(kind: kind, at: at(time), reference: reference, refersTo: refersTo, outcome: outcome)
    }

    static func kinds(_ timeline: ReferralTimeline, at now: String) -> [OpenTasks.Kind] {
        OpenTasks.of(timeline, at: at(now)).map(\.kind)
    }

    @Test func aNewReferralNeedsADecisionAndAnAcknowledgement() {
        let fresh = ReferralTimeline(
            receivedAt: at("2026-12-01T21:00:00Z"), hostAuthority: "E06000038", verbal: true,
            professionalReferrer: true)
        #expect(
            Self.kinds(fresh, at: "2026-12-01T22:00:00Z") == [
                .recordOutcome, .acknowledgeReferrer, .awaitWrittenConfirmation,
            ])
    }

    @Test func anOutcomeAwaitsAuthorisationThenFeedbackAsOfEachInstant() {
        var timeline = ReferralTimeline(receivedAt: at("2026-12-01T21:00:00Z"), hostAuthority: "E06000038")
        timeline.events = [
            Self.event(.acknowledgement, "2026-12-01T21:30:00Z", "a:2"),
            Self.event(.outcome, "2026-12-02T09:30:00Z", "a:3", outcome: "early-help"),
            Self.event(.authorisation, "2026-12-02T11:00:00Z", "m:1", refersTo: "a:3"),
            Self.event(.feedback, "2026-12-02T15:00:00Z", "a:4", refersTo: "a:3"),
        ]
        #expect(Self.kinds(timeline, at: "2026-12-01T22:00:00Z") == [.recordOutcome])
        let awaiting = OpenTasks.of(timeline, at: at("2026-12-02T10:00:00Z"))
        #expect(awaiting.map(\.kind) == [.authoriseOutcome])
        #expect(awaiting.first?.entry == "a:3")
        #expect(Self.kinds(timeline, at: "2026-12-02T12:00:00Z") == [.tellReferrerTheOutcome])
        #expect(Self.kinds(timeline, at: "2026-12-02T16:00:00Z").isEmpty)
    }

    @Test func immediateProtectionIsFollowedByAStrategyDiscussionAndItsRecord() {
        var timeline = ReferralTimeline(receivedAt: at("2026-12-01T21:00:00Z"), hostAuthority: "E06000038")
        timeline.events = [
            Self.event(.acknowledgement, "2026-12-01T21:30:00Z", "a:2"),
            Self.event(.outcome, "2026-12-01T22:00:00Z", "a:3", outcome: "immediate-protection"),
            Self.event(.authorisation, "2026-12-01T22:10:00Z", "m:1", refersTo: "a:3"),
            Self.event(.feedback, "2026-12-01T22:20:00Z", "a:4", refersTo: "a:3"),
            Self.event(.strategyDiscussion, "2026-12-02T10:00:00Z", "a:5"),
            Self.event(.strategyRecord, "2026-12-02T16:00:00Z", "a:6", refersTo: "a:5"),
        ]
        #expect(Self.kinds(timeline, at: "2026-12-02T09:00:00Z") == [.holdStrategyDiscussion])
        let after = OpenTasks.of(timeline, at: at("2026-12-02T11:00:00Z"))
        #expect(after.map(\.kind) == [.distributeStrategyRecord])
        #expect(after.first?.entry == "a:5")
        #expect(Self.kinds(timeline, at: "2026-12-02T17:00:00Z").isEmpty)
    }
}
