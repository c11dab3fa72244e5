// edt-faultproxy: a loopback TCP proxy in front of an HTTP/1.1 server that injects network faults
// (resets, cut responses, flipped bytes, stalls, 502/503 answers) on a seeded, reproducible schedule.
// Integration tests put it between a real libcurl client and a real server; it also helps anyone
// diagnosing how the sync client behaves on a bad network.
//
// It prints `listening HOST:PORT` on stdout once bound (the real port when port 0 was asked), then
// one line per accepted connection on stderr, `connection K: FAULT` or `connection K: pass`, plus
// `connection K detail: ...` lines saying what exactly it did. It runs until SIGTERM or SIGINT.
//
// Files: Schedule.swift decides (PRNG and fault kinds); Connection.swift relays one connection and
// Faults.swift injects the faults; HTTPMessage.swift finds heads and bodies; Socket.swift wraps POSIX.
import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

@main
struct FaultProxy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edt-faultproxy",
        abstract: "A loopback TCP proxy for HTTP/1.1 that injects network faults on a seeded schedule.",
        discussion: """
            Connections are numbered 1, 2, 3... in the order they are accepted. Whether connection K \
            gets a fault, which one, and where (which byte, how many bytes) is a pure function of \
            (--seed, K), so the same seed and the same traffic give the same faults and the same log. \
            A faulted connection carries one HTTP exchange, then the proxy closes both sides; a passed \
            connection is a transparent byte pipe (keep-alive works).

            Fault kinds (for --faults):
            \(FaultKind.helpText)

            Output: `listening HOST:PORT` on stdout once bound; on stderr `connection K: KIND` or \
            `connection K: pass` per connection, and `connection K detail: ...` lines. Stops on SIGTERM or SIGINT.
            """
    )

    @Option(
        help: ArgumentHelp(
            "The HTTP/1.1 server to relay to; given several times, connections go to each in turn (round robin).",
            valueName: "host:port"))
    var upstream: [Endpoint]

    @Option(help: ArgumentHelp("Where to listen; port 0 lets the system pick a free port.", valueName: "host:port"))
    var listen = Endpoint(host: "127.0.0.1", port: 0)

    @Option(help: "The seed of the fault schedule.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("The fault kinds to choose from (uniformly), comma-separated.", valueName: "kinds"))
    var faults = FaultList.all

    @Option(help: "The probability (0...1) that a connection gets a fault; 0 passes everything.")
    var rate = 0.5

    @Option(help: "How long a stall fault sends nothing before closing, in seconds.")
    var stallSeconds = 20.0

    @Option(help: "Stop injecting after this many faults (later connections pass). Default: no limit.")
    var faultLimit: Int?

    func validate() throws {
        guard (0...1).contains(rate) else { throw ValidationError("--rate must be between 0 and 1.") }
        guard stallSeconds.isFinite, stallSeconds >= 0 else {
            throw ValidationError("--stall-seconds must be 0 or more.")
        }
        if let faultLimit, faultLimit < 0 { throw ValidationError("--fault-limit must be 0 or more.") }
        guard !upstream.isEmpty else { throw ValidationError("--upstream is required.") }
        for endpoint in upstream {
            do {
                _ = try SocketAddress.resolve(endpoint)
            } catch {
                throw ValidationError("--upstream \(endpoint.host):\(endpoint.port): \(error)")
            }
        }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let upstreams = try upstream.map { try SocketAddress.resolve($0) }
        let listenAddresses = try SocketAddress.resolve(listen, passive: true)
        let listener = try Socket.listen(on: listenAddresses[0])
        let bound = try Socket.localAddress(of: listener)
        signal(SIGTERM) { _ in _exit(0) }
        signal(SIGINT) { _ in _exit(0) }
        // A parent may have started us with these blocked (the mask is inherited): unblock them.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        Log.write(to: STDOUT_FILENO, "listening \(bound.text)")  // unbuffered: a test reads the port from it

        let schedule = Schedule(seed: seed, rate: rate, kinds: faults.kinds)
        var injected = 0
        var number = 0
        while true {
            let client = Socket.accept(from: listener)
            number += 1
            var decision = schedule.decision(for: number)
            if decision.fault != nil {
                if let faultLimit, injected >= faultLimit {
                    decision = Decision(connection: number, fault: nil, random: decision.random)
                } else {
                    injected += 1
                }
            }
            // Each connection goes to the next upstream in turn.
            let target = (number - 1) % upstreams.count
            let to = upstreams.count > 1 ? " to \(upstream[target].host):\(upstream[target].port)" : ""
            Log.line("connection \(number): \(decision.fault?.rawValue ?? "pass")\(to)")
            let connection = Connection(
                client: client, upstream: upstreams[target], decision: decision, stallSeconds: stallSeconds
            )
            Thread { connection.run() }.start()
        }
    }
}
