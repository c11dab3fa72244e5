import Synchronization

/// The lines `edt central serve` prints on stdout once its listeners are ready, in a fixed
/// order whichever is ready first: `listening on ...` (what laptops reach; scripts read the
/// first line), then, when /metrics is served, `metrics on ...`. With /metrics, neither is
/// printed until both listen: a centre that cannot listen on one of them stops, having printed
/// nothing a script would take for ready.
final class ReadyLines: Sendable {
    private struct State {
        var listening: String?
        var metrics: String?
        var printedListening = false
        var printedMetrics = false
    }

    private let expectsMetrics: Bool
    private let state = Mutex(State())

    /// Lines for a server that serves /metrics too when `metrics` is true.
    init(metrics: Bool) {
        expectsMetrics = metrics
    }

    /// The main listener is ready: `line` says where.
    func listening(_ line: String) {
        print { $0.listening = line }
    }

    /// The /metrics listener is ready: `line` says where.
    func metrics(_ line: String) {
        guard expectsMetrics else { return }
        print { $0.metrics = line }
    }

    /// Records what `change` says, then prints whatever may be printed now, in order (under the
    /// lock, so two listeners ready at once cannot swap their lines).
    private func print(_ change: (inout State) -> Void) {
        state.withLock { state in
            change(&state)
            var lines: [String] = []
            guard !expectsMetrics || state.metrics != nil else { return }
            if !state.printedListening, let line = state.listening {
                state.printedListening = true
                lines.append(line)
            }
            if state.printedListening, !state.printedMetrics, let line = state.metrics {
                state.printedMetrics = true
                lines.append(line)
            }
            // A serving centre goes on serving when nobody reads these lines any more (a reader
            // that took the first and left): they are written if they can be.
            for line in lines {
                try? Array((line + "\n").utf8).withUnsafeBytes { try FileHandleOutput.writeStandardOutput($0) }
            }
        }
    }
}
