import ArgumentParser
import Crypto
import LineProtocol
import Replication

#if canImport(Glibc)
import Glibc
#endif

/// `edt-bench framing`: the EDTLP frame decoder beside a plain streaming line split.
struct FramingBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "framing",
        abstract: "EDTLP frame decoding of referral deltas beside a plain memchr line split.",
        discussion: """
            Encodes N referral deltas (about 2 KB records, one REC frame each) as one bundle \
            stream, then feeds it in 64 KiB chunks, as a network read would, to:
              decode     the FrameDecoder: line limit, CR LF check, verbs, frame numbers, the \
            XXH3-64 checksum of every byte and the END line's count and checksum
              baseline   a streaming memchr line split of the same bytes and chunks, carrying \
            partial lines across chunks the same way, and nothing else
            Each is run 15 times, interleaved; medians are reported. ratio = decodeMBps / \
            baselineMBps. messageDecodeMBps and messagesPerSecond add the full MessageDecoder \
            (JSON payloads into records), for information.
            """
    )

    @Option(help: "Referral deltas in the stream.")
    var records = 10_000

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard records > 0 else { throw ValidationError("--records must be at least 1") }
    }

    func run() throws {
        let progress = Progress()
        progress.say("building \(records) referral deltas…")
        let corpus = try ReferralCorpus(records: records)
        let replica = try corpus.laptop("edt-laptop-a")
        let key = Curve25519.Signing.PrivateKey()
        let encoder = StreamEncoder(
            header: Header(kind: .bundle, parameters: [("device", "edt-laptop-a")]), signer: StreamSigner(key: key))
        encoder.append(replica.delta(since: VersionVector()))
        let bytes = encoder.finish()
        let chunk = 1 << 16

        progress.say("measuring…")
        var decodeTimes: [Double] = []
        var baselineTimes: [Double] = []
        var framesSeen = 0
        var linesSeen = 0
        for _ in 0..<15 {
            var frames = 0
            decodeTimes.append(
                try Measure.seconds {
                    let decoder = FrameDecoder(verifier: .key(key.publicKey))
                    var start = 0
                    while start < bytes.count {
                        let end = min(bytes.count, start + chunk)
                        try decoder.decode(bytes[start..<end]) { frame in frames &+= frame.arguments.count > 0 ? 1 : 0 }
                        start = end
                    }
                    try decoder.finish()
                })
            framesSeen = frames
            var lines = 0
            baselineTimes.append(Measure.seconds { lines = Self.lineSplit(bytes, chunk: chunk) })
            linesSeen = lines
        }
        // DELTA, the records and SIG final are frames; the header and END are lines too.
        precondition(framesSeen == records + 2 && linesSeen == records + 4, "both must see every line")

        progress.say("full message decode…")
        var messageTimes: [Double] = []
        for _ in 0..<3 {
            messageTimes.append(
                try Measure.seconds {
                    let stream = try DecodedStream(bytes, verifier: .key(key.publicKey), chunkSize: chunk)
                    precondition(stream.messages.count == records + 2)
                })
        }
        progress.done()

        let megabytes = Double(bytes.count) / 1_000_000
        let decode = megabytes / Measure.median(decodeTimes)
        let baseline = megabytes / Measure.median(baselineTimes)
        let framesPerSecond = Double(records + 1) / Measure.median(decodeTimes)
        let messageSeconds = Measure.median(messageTimes)
        if json {
            var out = JSONLine()
            out.add("decodeMBps", decode, decimals: 1)
            out.add("baselineMBps", baseline, decimals: 1)
            out.add("ratio", decode / baseline, decimals: 3)
            out.add("framesPerSecond", Int(framesPerSecond))
            out.add("records", records)
            out.add("streamBytes", bytes.count)
            out.add("messageDecodeMBps", megabytes / messageSeconds, decimals: 1)
            out.add("messagesPerSecond", Int(Double(records + 1) / messageSeconds))
            print(out.text)
        } else {
            print("framing: \(records) referral deltas, \(bytes.count) bytes, 64 KiB chunks, medians of 15")
            print("  frame decoder     \(Int(decode)) MB/s  (\(Int(framesPerSecond)) frames/s)")
            print("  memchr line split \(Int(baseline)) MB/s")
            print("  ratio             \((decode / baseline * 1000).rounded() / 1000)")
            print(
                "  full message decode (JSON into records): \(Int(megabytes / messageSeconds)) MB/s, \(Int(Double(records + 1) / messageSeconds)) messages/s"
            )
        }
    }

    /// A streaming line split: memchr for each LF, partial lines carried across chunks. Returns
    /// the number of lines (and folds their lengths into a checksum so nothing is optimised away).
    static func lineSplit(_ bytes: [UInt8], chunk: Int) -> Int {
        var carry: [UInt8] = []
        var lines = 0
        var lengths = 0
        var start = 0
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            while start < raw.count {
                let end = min(raw.count, start + chunk)
                var position = start
                while position < end, let found = memchr(base + position, 0x0A, end - position) {
                    let newline = UnsafeRawPointer(found) - base
                    if carry.isEmpty {
                        lengths &+= newline - position
                    } else {
                        carry.append(
                            contentsOf: UnsafeRawBufferPointer(start: base + position, count: newline - position))
                        lengths &+= carry.count
                        carry.removeAll(keepingCapacity: true)
                    }
                    lines += 1
                    position = newline + 1
                }
                if position < end {
                    carry.append(contentsOf: UnsafeRawBufferPointer(start: base + position, count: end - position))
                }
                start = end
            }
        }
        precondition(lengths > 0)
        return lines
    }
}
