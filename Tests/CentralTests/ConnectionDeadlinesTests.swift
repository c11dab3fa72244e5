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

    @Test func aBodyTheCentreIsNotReadingIsNotTheClientsStall() {
        var deadlines = ConnectionDeadlines(Self.limits, openedAt: Self.at(0))
        deadlines.read(Self.head, at: Self.at(1))
        deadlines.read(Self.body, at: Self.at(2))
        // The centre read what came and asks for no more (its storage is busy): nothing is due.
        deadlines.centreRead()
        #expect(deadlines.next == nil)
        // When it asks again, the client has the whole stall deadline from then.
        deadlines.centreAsks(at: Self.at(100))
        #expect(deadlines.next == deadline(.body, 130))
        // Asking while already reading is no progress of the client's.
        deadlines.centreAsks(at: Self.at(120))
        #expect(deadlines.next == deadline(.body, 130))
    }

    @Test func theAnswerMustMoveThenAKeptAliveConnectionMayIdle() {
        var deadlines = ConnectionDeadlines(Self.limits, openedAt: Self.at(0))
        deadlines.read(Self.head, at: Self.at(1))
        deadlines.read(Self.body, at: Self.at(2))
        deadlines.read(Self.end, at: Self.at(3))
        // Due from the request's end; the handler counts an answer the centre is still working
        // on, or that the client takes, as moving.
        #expect(deadlines.next == deadline(.reply, 33))
        deadlines.replyMoved(at: Self.at(40))
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
        deadlines.replyMoved(at: Self.at(5))
        deadlines.wrote(Self.answerEnd, at: Self.at(5))
        #expect(deadlines.next == deadline(.reply, 35), "the second answer is still due")
        deadlines.wrote(Self.answerEnd, at: Self.at(6))
        #expect(deadlines.next == deadline(.idle, 66))
    }

    @Test func requestsSentAheadDoNotExtendAnAnswerTheClientIsNotReading() {
        var deadlines = ConnectionDeadlines(Self.limits, openedAt: Self.at(0))
        deadlines.read(Self.head, at: Self.at(1))
        deadlines.read(Self.end, at: Self.at(1))
        for second in stride(from: Int64(10), through: 28, by: 9) {
            deadlines.read(Self.head, at: Self.at(second))
            deadlines.read(Self.end, at: Self.at(second))
            // Answers handed over behind unread bytes are no progress (the handler's call).
            deadlines.wrote(Self.answerEnd, at: Self.at(second))
        }
        #expect(deadlines.next == deadline(.reply, 31))
        // A body sent ahead, which the centre is not reading yet, does not hide it either.
        deadlines.read(Self.head, at: Self.at(29))
        deadlines.centreRead()
        #expect(deadlines.next == deadline(.reply, 31))
    }
}
