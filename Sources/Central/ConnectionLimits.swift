/// How long the centre waits on a connection at each step of a request, and how many connections
/// it keeps open at once: a connection that stalls is closed, so it frees its place for others
/// (a `GET /health`, a laptop's sync).
///
/// The deadlines are on progress where a slow but moving client is legitimate (a request body
/// coming over a poor mobile link), and on the whole step where it is not (a request's headers,
/// under a kilobyte, sent at once by every client).
public struct ConnectionLimits: Sendable, Hashable {
    /// A new connection must deliver the whole head of its first request (request line and
    /// headers) within this, however it trickles them; else it is closed. Default 10 s: a client
    /// sends its headers at once, and 10 s leaves room for a few lost packets on a poor link.
    public var headerDeadline: Duration = .seconds(10)

    /// After an answer, a kept-alive connection must deliver the head of its next request within
    /// this; else it is closed. Default 60 s: a laptop reuses its connection within a sync, a
    /// moment after each answer, and a closed one is simply opened again.
    public var idleDeadline: Duration = .seconds(60)

    /// While a request body arrives, a connection that delivers no byte of it for this long is
    /// closed; and while the centre answers, a client that takes no byte of the answer for this
    /// long is closed too. The deadline is on progress, not on the whole transfer: a 64 MiB push
    /// over a slow link may take many minutes and is never cut while it moves. Default 60 s:
    /// twice the time a laptop itself waits on a stalled transfer before it retries
    /// (`edt sync --stall-seconds`), so the laptop, not the centre, is the one that gives up.
    /// Time the centre spends not reading a body (its storage busy with what came before) does
    /// not count against the client.
    ///
    /// Once the centre has answered a request whose body is still arriving (it refused the
    /// request before reading all of it), the rest of the body must arrive within
    /// ``headerDeadline`` of the answer: a refused stranger cannot hold the connection by
    /// trickling a body nobody reads.
    public var stallDeadline: Duration = .seconds(60)

    /// The most connections open at once. A connection accepted beyond it is closed at once,
    /// before anything of it is read (the laptop retries after its backoff); the oldest are kept.
    /// Default 1,000: far more than the laptops of a service sync at once, and within the usual
    /// open-file limits.
    public var maximumConnections = 1_000

    /// The defaults.
    public init() {}
}
