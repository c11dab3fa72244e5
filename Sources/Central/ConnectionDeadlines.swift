import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// What a connection is waiting for, and by when it must come: the deadlines of
/// ``ConnectionLimits`` applied to what has happened on one HTTP/1.1 connection.
///
/// Pure bookkeeping, told of each request part read, each response part written and whether the
/// centre is asking for more bytes, with the instant; ``ConnectionDeadlineHandler`` keeps the
/// timer.
struct ConnectionDeadlines {
    /// The step of a request a deadline bounds.
    enum Step: String, Equatable, Sendable {
        /// The first request's head, on a new connection (``ConnectionLimits/headerDeadline``).
        case header
        /// The next request's head, after an answer (``ConnectionLimits/idleDeadline``).
        case idle
        /// The next byte of a request body (``ConnectionLimits/stallDeadline``), while the centre
        /// asks for it: while the centre works through what it has already read (its storage
        /// busy), it stops reading, and the clock does not run against the client.
        case body
        /// The rest of a body the centre has already answered (``ConnectionLimits/headerDeadline``
        /// from the answer, or sooner if it stalls).
        case bodyAfterAnswer = "body after the answer"
        /// The client taking the next byte of the answer (``ConnectionLimits/stallDeadline``).
        /// While the centre is still working on the answer, nothing of it waits to be sent and
        /// ``ConnectionDeadlineHandler`` counts it as moving.
        case reply
    }

    /// The next deadline: the step it bounds and the instant it falls.
    struct Deadline: Equatable {
        let step: Step
        let at: NIODeadline
    }

    let header: TimeAmount
    let idle: TimeAmount
    let stall: TimeAmount

    /// Request heads read, request ends read and response ends written. HTTP/1.1 answers in
    /// order, and a client may send requests before the earlier ones are answered (pipelining).
    private(set) var requests = 0
    private(set) var requestsRead = 0
    private(set) var answers = 0
    /// Since when the connection has been waiting for a request head (opened, or last answered).
    private var waitingSince: NIODeadline
    /// The last byte of the request body in progress (or its head).
    private var lastBodyProgress: NIODeadline
    /// When the request whose body is still arriving was answered.
    private var answeredAt: NIODeadline?
    /// The last sign that the answer due moves: it fell due, or the client took some of it.
    private var lastReplyProgress: NIODeadline
    /// Whether the centre has asked for more bytes since it last read some.
    private(set) var centreReading = true

    init(_ limits: ConnectionLimits, openedAt now: NIODeadline) {
        header = TimeAmount(limits.headerDeadline)
        idle = TimeAmount(limits.idleDeadline)
        stall = TimeAmount(limits.stallDeadline)
        waitingSince = now
        lastBodyProgress = now
        lastReplyProgress = now
    }

    /// Whether a request body is arriving.
    var readingBody: Bool { requests > requestsRead }
    /// Whether every request, the one whose body is arriving included, has been answered.
    var allAnswered: Bool { answers == requests }
    /// Whether a request read to its end waits for its answer.
    var answerDue: Bool { answers < requestsRead }

    /// The deadline the connection must meet next (the earliest of those that apply); `nil`
    /// while the only thing it waits for is the centre (reading a body it has no room for yet).
    var next: Deadline? {
        var due: [Deadline] = []
        if readingBody {
            let stalled = lastBodyProgress + stall
            if allAnswered, let answeredAt {
                due.append(Deadline(step: .bodyAfterAnswer, at: min(stalled, answeredAt + header)))
            } else if centreReading {
                due.append(Deadline(step: .body, at: stalled))
            }
        }
        if answerDue { due.append(Deadline(step: .reply, at: lastReplyProgress + stall)) }
        if !readingBody, allAnswered {
            due.append(
                answers == 0
                    ? Deadline(step: .header, at: waitingSince + header)
                    : Deadline(step: .idle, at: waitingSince + idle))
        }
        return due.min { $0.at < $1.at }
    }

    /// A request part arrived.
    mutating func read(_ part: HTTPRequestPart, at now: NIODeadline) {
        switch part {
        case .head:
            requests += 1
            lastBodyProgress = now
            answeredAt = nil
        case .body:
            lastBodyProgress = now
        case .end:
            // An answer falls due now, unless an earlier one is still due: requests sent ahead
            // do not extend an answer the client is not reading.
            if !answerDue, !allAnswered { lastReplyProgress = now }
            requestsRead = requests
            answeredAt = nil
            if allAnswered { waitingSince = now }
        }
    }

    /// A response part was handed to the connection (not necessarily sent). Whether that is
    /// progress depends on the client: ``replyMoved(at:)``.
    mutating func wrote(_ part: HTTPResponsePart, at now: NIODeadline) {
        guard case .end = part else { return }
        answers += 1
        guard allAnswered else { return }
        if readingBody { answeredAt = now } else { waitingSince = now }
    }

    /// The client took some of the answer, or none of it waits to be sent.
    mutating func replyMoved(at now: NIODeadline) {
        lastReplyProgress = now
    }

    /// The centre read what had come; until it asks for more, it is not waiting on the client.
    mutating func centreRead() {
        centreReading = false
    }

    /// The centre asks for more bytes. After a pause of its own, a body's stall clock starts
    /// afresh.
    mutating func centreAsks(at now: NIODeadline) {
        guard !centreReading else { return }
        centreReading = true
        lastBodyProgress = max(lastBodyProgress, now)
    }
}

/// Closes an HTTP/1.1 connection that misses a deadline of ``ConnectionLimits``: sits after the
/// HTTP codec (it sees request and response parts), keeps one timer, and on expiry closes the
/// connection. A request cut while its body arrives ends early for the route, which refuses it
/// (an incomplete push stores nothing beyond its last verified checkpoint).
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var deadlines: ConnectionDeadlines
    private let logger: Logger
    private var timer: Scheduled<Void>?
    private var timerAt: NIODeadline?
    /// The answer's bytes waiting to be sent at its last sign of progress.
    private var bufferedAtProgress = 0

    init(limits: ConnectionLimits, logger: Logger) {
        self.deadlines = ConnectionDeadlines(limits, openedAt: .now())
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        deadlines.read(unwrapInboundIn(data), at: .now())
        arm(context)
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        deadlines.centreRead()
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        // Held back (not passed on) by the handlers nearer the routes while they have more than
        // they can take: the centre is not waiting on the client then.
        deadlines.centreAsks(at: .now())
        arm(context)
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let now = NIODeadline.now()
        // An answer written while nothing waits to be sent moves; one written behind bytes the
        // client has not taken does not (else a client sending requests ahead, reading none of
        // the answers, would keep its connection as long as the centre kept writing).
        if buffered(context) == 0 { deadlines.replyMoved(at: now) }
        deadlines.wrote(unwrapOutboundIn(data), at: now)
        context.write(data, promise: promise)
        bufferedAtProgress = buffered(context)
        arm(context)
    }

    /// Makes sure the timer fires no later than the next deadline. A timer already set for an
    /// earlier instant stays: when it fires it looks again.
    private func arm(_ context: ChannelHandlerContext) {
        guard let next = deadlines.next else { return }
        if let timerAt, timerAt <= next.at { return }
        timer?.cancel()
        timerAt = next.at
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: next.at) { [self] in
            expired(context)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
        timerAt = nil
    }

    private func expired(_ context: ChannelHandlerContext) {
        timer = nil
        timerAt = nil
        guard context.channel.isActive, let next = deadlines.next else { return }
        let now = NIODeadline.now()
        if next.at > now {
            arm(context)
            return
        }
        if next.step == .reply {
            // The answer moved if the client took some of it since its last sign of progress,
            // or none of it waits to be sent (the centre is still working on it).
            let waiting = buffered(context)
            if waiting == 0 || waiting < bufferedAtProgress {
                bufferedAtProgress = waiting
                deadlines.replyMoved(at: now)
                arm(context)
                return
            }
        }
        let level: Logger.Level = next.step == .body || next.step == .reply ? .notice : .debug
        logger.log(
            level: level, "connection closed: deadline missed",
            metadata: [
                "step": "\(next.step.rawValue)",
                "peer": "\(context.channel.remoteAddress.map { "\($0)" } ?? "-")",
            ])
        context.close(promise: nil)
    }

    /// The bytes written to the connection and not yet taken by the client.
    private func buffered(_ context: ChannelHandlerContext) -> Int {
        (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }
}

extension HTTP1Channel {
    /// Hummingbird's HTTP/1.1 channel with a ``ConnectionDeadlineHandler`` on every connection,
    /// after the HTTP codec (behind TLS when the centre serves HTTPS: the deadlines count the
    /// handshake within the first request's head).
    static func withDeadlines(
        responder: @escaping HTTPChannelHandler.Responder, limits: ConnectionLimits, logger: Logger
    ) -> HTTP1Channel {
        HTTP1Channel(
            responder: responder,
            configuration: .init(
                additionalChannelHandlers: [ConnectionDeadlineHandler(limits: limits, logger: logger)]))
    }
}
