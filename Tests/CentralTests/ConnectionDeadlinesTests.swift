import Hummingbird
import NIOCore
import NIOHTTPTypes
import Testing

@testable import Central

/// Which deadline a connection must meet next, step by step through its requests, with the
/// instants given (no clock, no network). The end-to-end tests drive the real server.
@Suite("Connection deadlines")
struct ConnectionDeadlinesTests {
    /// Header 10 s, idle 60 s, stall 30 s.
    static var limits: ConnectionLimits {
        var limits = ConnectionLimits()
        limits.headerDeadline = .seconds(10)
        limits.idleDeadline = .seconds(60)
        limits.stallDeadline = .seconds(30)
        return limits
    }

    /// The instant `seconds` after the connection opened.
    static func at(_ seconds: Int64) -> NIODeadline { .uptimeNanoseconds(1_000_000_000_000) + .seconds(seconds) }

    static let head = HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/v1/sync"))
    static let body = HTTPRequestPart.body(ByteBuffer(string: "EDTLP"))
    static let end = HTTPRequestPart.end(nil)
    static let answerHead = HTTPResponsePart.head(HTTPResponse(status: .ok))
    static let answerEnd = HTTPResponsePart.end(nil)

    func deadline(_ step: ConnectionDeadlines.Step, _ seconds: Int64) -> ConnectionDeadlines.Deadline {
        .init(step: step, at: Self.at(seconds))
    }

    @Test func aNewConnectionMustSendItsHeadersWithinTheHeaderDeadlineHoweverItTrickles() {
        let deadlines = ConnectionDeadlines(Self.limits, openedAt: Self.at(0))
        // Bytes of an unfinished head are not parts: nothing moves the deadline before the head.
        #expect(deadlines.next == deadline(.header, 10))
    }

    @Test func aBodyIsHeldToProgressNotToItsWholeLength() {
        var deadlines = ConnectionDeadlines(Self.limits, openedAt: Self.at(0))
        deadlines.read(Self.head, at: Self.at(2))
        #expect(deadlines.next == deadline(.body, 32))
        // A body that keeps moving is never cut, however long it takes in all.
        for second in stride(from: Int64(20), through: 600, by: 20) {
            deadlines.read(Self.body, at: Self.at(second))
            #expect(deadlines.next == deadline(.body, second + 30))
        }
    }

    @Test func whileTheCentreWorksNothingIsDueThenTheAnswerMustMoveThenTheConnectionMayIdle() {
        var deadlines = ConnectionDeadlines(Self.limits, openedAt: Self.at(0))
        deadlines.read(Self.head, at: Self.at(1))
        deadlines.read(Self.body, at: Self.at(2))
        deadlines.read(Self.end, at: Self.at(3))
        #expect(deadlines.next == deadline(.reply, 33))
        deadlines.wrote(Self.answerHead, at: Self.at(40))
        #expect(deadlines.next == deadline(.reply, 70))
        deadlines.replyMoved(at: Self.at(65))
        #expect(deadlines.next == deadline(.reply, 95))
        deadlines.wrote(Self.answerEnd, at: Self.at(70))
        #expect(deadlines.next == deadline(.idle, 130), "kept alive for the idle deadline")

        // The next request's head is due within the idle deadline, then its body by progress.
        deadlines.read(Self.head, at: Self.at(100))
        #expect(deadlines.next == deadline(.body, 130))
    }

    @Test func theRestOfABodyTheCentreAlreadyAnsweredIsDueWithinTheHeaderDeadline() {
        var deadlines = ConnectionDeadlines(Self.limits, openedAt: Self.at(0))
        deadlines.read(Self.head, at: Self.at(1))
        deadlines.read(Self.body, at: Self.at(2))
        // Refused on its headers (401) while the body still arrives.
        deadlines.wrote(Self.answerHead, at: Self.at(3))
        deadlines.wrote(Self.answerEnd, at: Self.at(3))
        #expect(deadlines.next == deadline(.bodyAfterAnswer, 13))
        deadlines.read(Self.body, at: Self.at(12))
        #expect(deadlines.next == deadline(.bodyAfterAnswer, 13), "trickling does not extend it")
        // Once the body is in, the connection waits for its next request.
        deadlines.read(Self.end, at: Self.at(12))
        #expect(deadlines.next == deadline(.idle, 72))
    }

    @Test func aStalledAnsweredBodyIsCutAtTheStallDeadlineIfThatComesFirst() {
        var limits = Self.limits
        limits.headerDeadline = .seconds(100)
        var deadlines = ConnectionDeadlines(limits, openedAt: Self.at(0))
        deadlines.read(Self.head, at: Self.at(1))
        deadlines.wrote(Self.answerEnd, at: Self.at(2))
        #expect(deadlines.next == deadline(.bodyAfterAnswer, 31))
    }

    @Test func pipelinedRequestsAreAnsweredInTurn() {
        var deadlines = ConnectionDeadlines(Self.limits, openedAt: Self.at(0))
        for part in [Self.head, Self.end, Self.head, Self.end] { deadlines.read(part, at: Self.at(1)) }
        #expect(deadlines.next == deadline(.reply, 31))
        deadlines.wrote(Self.answerEnd, at: Self.at(5))
        #expect(deadlines.next == deadline(.reply, 35), "the second answer is still due")
        deadlines.wrote(Self.answerEnd, at: Self.at(6))
        #expect(deadlines.next == deadline(.idle, 66))
    }
}
