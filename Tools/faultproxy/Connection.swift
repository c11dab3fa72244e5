// One accepted client connection: a transparent pipe to the upstream, or the first HTTP exchange
// with its scheduled fault (Faults.swift) followed by closing both sides.
import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A client connection and what to do with it. Runs on its own thread (`run`), plus one helper
/// thread for the client-to-upstream direction.
struct Connection: Sendable {
    let client: Int32
    let upstream: [SocketAddress]
    let decision: Decision
    let stallSeconds: Double

    /// Serves the connection to the end and closes its sockets.
    func run() {
        var random = decision.random
        switch decision.fault {
        case nil: pass()
        case .drop: drop(random: &random)
        case .truncate: exchange(.truncate, random: &random)
        case .flip: exchange(.flip, random: &random)
        case .stall: exchange(.stall, random: &random)
        case .badGateway: reply(status: "502 Bad Gateway", extraFields: [])
        case .unavailable: reply(status: "503 Service Unavailable", extraFields: ["Retry-After: 1"])
        case .rewrite: exchange(.rewrite, random: &random)
        case .rewriteRequest: rewriteRequest()
        case .endless: endless()
        }
    }

    /// Logs a detail line about this connection (the decision line itself is logged on accept).
    func log(_ text: String) {
        Log.line("connection \(decision.connection) detail: \(text)")
    }

    /// Connects to the upstream; on failure logs it and returns nil (the caller closes the client).
    func connectUpstream() -> Int32? {
        do {
            return try Socket.connect(to: upstream)
        } catch {
            log("upstream \(error); closing the client connection")
            return nil
        }
    }

    /// The client's request head, read with `reader`; nil (logged, the client closed) when
    /// the client sent none.
    func requestHead(_ reader: inout SocketReader) -> HTTPHead? {
        guard let head = reader.readHead() else {
            log("no HTTP request head; closing")
            close(client)
            return nil
        }
        return head
    }

    // MARK: - Pass

    /// A transparent byte pipe both ways until both directions have ended.
    private func pass() {
        guard let server = connectUpstream() else {
            close(client)
            return
        }
        let requestDone = DispatchGroup()
        requestDone.enter()
        let client = client
        Thread {
            Self.pipe(from: client, to: server)
            requestDone.leave()
        }.start()
        Self.pipe(from: server, to: client)
        requestDone.wait()
        close(server)
        close(client)
    }

    /// Copies bytes from `source` to `destination`. At end of stream, passes the half-close on
    /// (FIN); on an error, shuts both sockets down so the other direction's thread stops too.
    private static func pipe(from source: Int32, to destination: Int32) {
        while true {
            guard let bytes = Socket.read(source), Socket.write(destination, bytes) else {
                Socket.shutdown(source, Int32(SHUT_RDWR))
                Socket.shutdown(destination, Int32(SHUT_RDWR))
                return
            }
            if bytes.isEmpty {
                Socket.shutdown(destination, Int32(SHUT_WR))
                return
            }
        }
    }

    // MARK: - Pieces of a faulted exchange

    /// A byte to XOR: `mask` goes into the body byte at `offset`.
    struct Flip: Sendable {
        let offset: Int
        let mask: UInt8
    }

    /// How relaying a body ended, and how many body bytes went through.
    struct RelayResult {
        enum End { case complete, limitReached, sourceEnded, destinationFailed }
        let end: End
        let bytes: Int
        /// The flipped byte before and after, if the flip position went through.
        var flipped: (old: UInt8, new: UInt8)?
    }

    /// Copies the body that follows a head from `reader` to `destination` (nowhere if nil), until
    /// the body ends, the source ends, or `limit` bytes have gone; applies `flip` on the way.
    /// Bytes after the body stay in the reader.
    func relayBody(
        from reader: inout SocketReader, to destination: Int32?, framing: BodyFraming,
        limit: Int? = nil, flip: Flip? = nil
    ) -> RelayResult {
        var tracker = BodyTracker(framing)
        var sent = 0
        var flipped: (old: UInt8, new: UInt8)?
        while !tracker.isComplete {
            if let limit, sent >= limit { return RelayResult(end: .limitReached, bytes: sent, flipped: flipped) }
            if reader.buffer.isEmpty, !reader.fill() {
                return RelayResult(end: .sourceEnded, bytes: sent, flipped: flipped)
            }
            var count = tracker.consume(reader.buffer[...])
            if let limit { count = min(count, limit - sent) }
            var piece = reader.take(count)
            if let flip, (sent..<(sent + count)).contains(flip.offset) {
                let old = piece[flip.offset - sent]
                piece[flip.offset - sent] = old ^ flip.mask
                flipped = (old, old ^ flip.mask)
            }
            sent += count
            if let destination, !Socket.write(destination, piece) {
                return RelayResult(end: .destinationFailed, bytes: sent, flipped: flipped)
            }
        }
        return RelayResult(end: .complete, bytes: sent, flipped: flipped)
    }

    /// Reads the final response head from the upstream, passing interim (1xx) responses such as
    /// `100 Continue` on to the client unchanged. Nil if the upstream closed without a response.
    func readFinalResponseHead(from reader: inout SocketReader) -> HTTPHead? {
        while let head = reader.readHead() {
            guard let status = head.statusCode, (100..<200).contains(status), status != 101 else { return head }
            guard Socket.write(client, head.bytes) else { return nil }
        }
        return nil
    }
}
