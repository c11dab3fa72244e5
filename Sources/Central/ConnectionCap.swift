import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// Counts the centre's open connections and turns away those beyond ``ConnectionLimits/maximumConnections``.
///
/// A connection beyond the cap is closed as soon as it is accepted, before anything of it is
/// read; the connections already open are kept (a stalled one frees its place at its deadline,
/// ``ConnectionDeadlineHandler``). Turning newcomers away, rather than pausing `accept` as
/// Hummingbird's `MaximumAvailableConnections` does, answers them at once (a laptop retries after
/// its backoff) instead of leaving them, and health probes, queued unanswered in the kernel's
/// backlog.
final class ConnectionCap: Sendable {
    let maximum: Int
    private let open = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)
    private let full = Atomic<Bool>(false)
    private let logger: Logger

    init(maximum: Int, logger: Logger) {
        self.maximum = maximum
        self.logger = logger
    }

    /// Takes a place for `channel` until it closes; `false` when there is none left.
    func admit(_ channel: any Channel) -> Bool {
        guard open.wrappingAdd(1, ordering: .relaxed).newValue <= maximum else {
            open.wrappingSubtract(1, ordering: .relaxed)
            refused.wrappingAdd(1, ordering: .relaxed)
            if full.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
                logger.warning(
                    "connection cap reached: new connections are closed until some close",
                    metadata: ["maximum": "\(maximum)"])
            }
            return false
        }
        channel.closeFuture.whenComplete { _ in self.release() }
        return true
    }

    private func release() {
        let now = open.wrappingSubtract(1, ordering: .relaxed).newValue
        guard now < maximum, full.compareExchange(expected: true, desired: false, ordering: .relaxed).exchanged
        else { return }
        logger.notice(
            "below the connection cap again",
            metadata: ["maximum": "\(maximum)", "refused": "\(refused.exchange(0, ordering: .relaxed))"])
    }
}

/// A child channel (Hummingbird's HTTP/1.1, or TLS in front of it) behind a ``ConnectionCap``:
/// a connection beyond the cap is turned away before anything is set up on it (no TLS
/// handshake, no byte read), and every one admitted is set up by `base`.
struct CappedChannel<Base: ServerChildChannel>: ServerChildChannel {
    /// An admitted connection (set up by `base`), or one turned away.
    enum Value: ServerChildChannelValue {
        case admitted(Base.Value)
        case refused(any Channel)

        var channel: any Channel {
            switch self {
            case .admitted(let value): value.channel
            case .refused(let channel): channel
            }
        }
    }

    let base: Base
    let cap: ConnectionCap

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard cap.admit(channel) else {
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(CloseWhenActive())
                return .refused(channel)
            }
        }
        return base.setup(channel: channel, logger: logger).map { .admitted($0) }
    }

    func handle(value: Value, logger: Logger) async {
        switch value {
        case .admitted(let connection): await base.handle(value: connection, logger: logger)
        case .refused: break
        }
    }
}

/// Closes a connection as soon as it is active: one turned away by the ``ConnectionCap``.
private final class CloseWhenActive: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { context.close(promise: nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.close(promise: nil)
    }
}
