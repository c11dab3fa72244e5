// The faults, each applied to the first HTTP exchange of a connection, which then closes.
import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension Connection {
    /// The faults that need a real exchange with the upstream.
    enum ExchangeFault { case truncate, flip, stall, rewrite }

    // MARK: - drop

    /// Reads the request head and a random part of its body (forwarding them upstream or not, as
    /// the generator says), then resets the client connection without any response.
    func drop(random: inout SplitMix64) {
        var reader = SocketReader(fd: client)
        guard let request = requestHead(&reader) else { return }
        Socket.setReceiveTimeout(client, seconds: 2)  // a client waiting for 100 Continue sends no body
        let framing = request.requestFraming
        let sample = BodySample.take(framing, from: &reader)
        let keep = sample.safeLength > 0 ? random.below(sample.safeLength) : 0
        let forward = random.coinFlip()
        var server: Int32?
        if forward, let connected = connectUpstream() {
            server = connected
            Socket.write(connected, request.bytes)
        }
        let result = relayBody(from: &reader, to: server, framing: framing, limit: keep)
        let total = sample.total.map { " of \($0)" } ?? ""
        let part = framing.isEmpty ? "(no body)" : "and \(result.bytes)\(total) body bytes (\(framing))"
        let upstreamNote = server == nil ? "not sent upstream" : "sent upstream"
        log("drop: after the request head \(part), \(upstreamNote); resetting the client")
        Socket.resetOnClose(client)
        close(client)
        if let server { close(server) }
    }

    // MARK: - 502 and 503

    /// Answers with `status` (and `extraFields`) without contacting the upstream, then closes.
    func reply(status: String, extraFields: [String]) {
        var reader = SocketReader(fd: client)
        guard requestHead(&reader) != nil else { return }
        let body = "faultproxy: injected \(status.prefix(3))\n"
        let head =
            ["HTTP/1.1 \(status)"] + extraFields + [
                "Content-Type: text/plain", "Content-Length: \(body.utf8.count)", "Connection: close",
            ]
        Socket.write(client, Array((head.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8))
        Socket.closeGracefully(client)  // drains what the client still sends (its body), briefly
    }

    // MARK: - endless

    /// Reads the request, then answers 200 with a reply's first line and `+PAD` frames (of about
    /// a kilobyte) for ever, without contacting the upstream, until the client stops reading.
    func endless() {
        var reader = SocketReader(fd: client)
        guard let request = requestHead(&reader) else { return }
        Socket.setReceiveTimeout(client, seconds: 2)  // a client waiting for 100 Continue sends no body
        _ = relayBody(from: &reader, to: nil, framing: request.requestFraming)
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/x-edtlp; charset=utf-8\r\nConnection: close\r\n\r\n"
        var sent = 0
        if Socket.write(client, Array((head + "EDTLP 2.0 reply device=central centre=c0ffee counter=0\n").utf8)) {
            let pad = String(repeating: "x", count: 1_000)
            var frame = 1
            while true {
                var block = ""
                for _ in 0..<64 {
                    block += "+PAD \(frame) \(pad)\n"
                    frame += 1
                }
                guard Socket.write(client, Array(block.utf8)) else { break }
                sent += block.utf8.count
            }
        }
        log("endless: the client stopped reading after \(sent) bytes of the reply's frames")
        close(client)
    }

    // MARK: - truncate, flip, stall

    /// Forwards the request (on a helper thread) and handles the response with `fault`, then closes
    /// both sides.
    func exchange(_ fault: ExchangeFault, random: inout SplitMix64) {
        var clientReader = SocketReader(fd: client)
        guard let request = requestHead(&clientReader) else { return }
        guard let server = connectUpstream() else {
            close(client)
            return
        }
        var flipRequest = false
        if fault == .flip {
            flipRequest = random.coinFlip()
            if flipRequest, request.requestFraming.isEmpty {
                flipRequest = false
                log("flip: the request has no body; flipping in the response body instead")
            } else if !flipRequest, request.method == "HEAD", !request.requestFraming.isEmpty {
                flipRequest = true  // a response to HEAD has no body
                log("flip: the response to HEAD has no body; flipping in the request body instead")
            }
        }
        let requestDone = DispatchGroup()
        requestDone.enter()
        let requestRandom = random.split()
        let reader = clientReader
        let flipInRequest = flipRequest
        Thread {
            var reader = reader
            var random = requestRandom
            forwardRequest(request, from: &reader, to: server, flip: flipInRequest, random: &random)
            requestDone.leave()
        }.start()

        var serverReader = SocketReader(fd: server)
        if let response = readFinalResponseHead(from: &serverReader) {
            let framing = response.responseFraming(requestMethod: request.method)
            switch fault {
            case .truncate:
                truncate(response, framing: framing, from: &serverReader, random: &random)
            case .flip:
                if flipRequest {
                    if Socket.write(client, response.bytes) {
                        _ = relayBody(from: &serverReader, to: client, framing: framing)
                    }
                } else {
                    flipResponse(response, framing: framing, from: &serverReader, random: &random)
                }
            case .stall:
                stall(response, requestDone: requestDone)
            case .rewrite:
                rewriteResponse(response, framing: framing, from: &serverReader)
            }
        } else {
            log("the upstream closed without a response")
        }
        finish(server: server, requestDone: requestDone)
    }

    /// Sends the request head and body upstream, flipping a body byte if `flip`.
    private func forwardRequest(
        _ request: HTTPHead, from reader: inout SocketReader, to server: Int32, flip: Bool, random: inout SplitMix64
    ) {
        guard Socket.write(server, request.bytes) else { return }
        let framing = request.requestFraming
        var position: Flip?
        if flip {
            let sample = BodySample.take(framing, from: &reader)
            if sample.payload.isEmpty {
                log("flip: the request body's first chunk is empty; nothing flipped")
            } else {
                position = Flip(
                    offset: sample.payload.lowerBound + random.below(sample.payload.count), mask: random.nonZeroByte())
            }
        }
        let result = relayBody(from: &reader, to: server, framing: framing, flip: position)
        if let position { logFlip("request", position, result, framing) }
        if result.end == .sourceEnded { Socket.shutdown(server, Int32(SHUT_WR)) }  // the client stopped early
    }

    /// Sends the response head and a random part of the body, strictly short of its end (or part
    /// of the head, when there is no body).
    private func truncate(
        _ response: HTTPHead, framing: BodyFraming, from reader: inout SocketReader, random: inout SplitMix64
    ) {
        let sample = BodySample.take(framing, from: &reader)
        guard sample.safeLength > 0 else {
            let cut = 1 + random.below(response.bytes.count - 1)
            Socket.write(client, response.bytes.prefix(cut))
            log("truncate: the response has no body; cut inside its head after \(cut) of \(response.bytes.count) bytes")
            return
        }
        let cut = random.below(sample.safeLength)
        guard Socket.write(client, response.bytes) else { return }
        let result = relayBody(from: &reader, to: client, framing: framing, limit: cut)
        let total = sample.total.map { " of \($0)" } ?? ""
        log("truncate: response cut after its head and \(result.bytes)\(total) body bytes (\(framing))")
    }

    /// Relays the response, XORing a random non-zero mask into one random byte of its body.
    private func flipResponse(
        _ response: HTTPHead, framing: BodyFraming, from reader: inout SocketReader, random: inout SplitMix64
    ) {
        let sample = BodySample.take(framing, from: &reader)
        var position: Flip?
        if sample.payload.isEmpty {
            log("flip: the response body is empty (the request went unchanged); nothing flipped")
        } else {
            position = Flip(
                offset: sample.payload.lowerBound + random.below(sample.payload.count), mask: random.nonZeroByte())
        }
        guard Socket.write(client, response.bytes) else { return }
        let result = relayBody(from: &reader, to: client, framing: framing, flip: position)
        if let position { logFlip("response", position, result, framing) }
    }

    private func logFlip(_ side: String, _ position: Flip, _ result: RelayResult, _ framing: BodyFraming) {
        let framingNote =
            if case .chunked = framing { "chunked; the offset counts chunk framing" } else { "\(framing)" }
        let place = "\(side) body byte \(position.offset) (0-based, after the head; \(framingNote))"
        if let flipped = result.flipped {
            log("flip: \(place): 0x\(hex(flipped.old)) -> 0x\(hex(flipped.new))")
        } else {
            log("flip: \(place) never went through (the body stopped after \(result.bytes) bytes)")
        }
    }

    private func hex(_ byte: UInt8) -> String {
        let text = String(byte, radix: 16)
        return text.count == 1 ? "0" + text : text
    }

    /// Sends the response head, then nothing for `stallSeconds` (less if the client goes away).
    private func stall(_ response: HTTPHead, requestDone: DispatchGroup) {
        guard Socket.write(client, response.bytes) else { return }
        let start = Date()
        let deadline = start.addingTimeInterval(stallSeconds)
        log("stall: response head sent; sending nothing for \(stallSeconds) s")
        // Once the request is through, the client can only send its next request or close: watch for a close.
        guard requestDone.wait(timeout: .now() + stallSeconds) == .success else { return }
        while case let remaining = deadline.timeIntervalSinceNow, remaining > 0 {
            guard Socket.waitReadable(client, seconds: remaining) else { break }
            guard let bytes = Socket.read(client), !bytes.isEmpty else {
                log("stall: the client closed after \(String(format: "%.1f", -start.timeIntervalSinceNow)) s")
                return
            }
        }
    }

    /// Closes both sides once the request thread is done (waking it if it is stuck reading the client).
    func finish(server: Int32, requestDone: DispatchGroup) {
        Socket.shutdown(server, Int32(SHUT_RDWR))
        if requestDone.wait(timeout: .now() + 2) == .timedOut {
            Socket.shutdown(client, Int32(SHUT_RD))
            requestDone.wait()
        }
        close(server)
        Socket.closeGracefully(client)
    }
}

extension BodyFraming {
    /// True when the framing says there is surely no body.
    var isEmpty: Bool {
        switch self {
        case .none, .length(0): true
        default: false
        }
    }
}
