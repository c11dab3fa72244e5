public import Replication

/// Writes an EDTLP stream: the header, numbered frames, the sender's signatures (a `SIG part`
/// checkpoint when asked, ``appendSignature()``, and the `SIG final` that ``finish()`` writes),
/// and the `END` line with the frame count and checksum. Output can be taken in pieces with ``takeBytes()`` as it is produced, so a large
/// stream never has to be held whole.
///
/// ```swift
/// let encoder = StreamEncoder(header: Header(kind: .bundle, device: "edt-laptop-a"), signer: signer)
/// encoder.append(delta)
/// let bytes = encoder.finish()
/// ```
public final class StreamEncoder {
    private var pending: [UInt8] = []
    /// How many bytes at the start of `pending` the checksum already covers.
    private var hashed = 0
    private var frames = 0
    private var finished = false
    private let checksum = StreamChecksum()
    private let kind: Header.Kind
    private let signer: StreamSigner

    /// An encoder whose stream `signer` signs.
    public init(header: Header, signer: StreamSigner) {
        kind = header.kind
        self.signer = signer
        pending.append(contentsOf: header.line.utf8)
        pending.append(0x0A)
    }

    /// How many frames have been written.
    public var frameCount: Int { frames }

    /// How many bytes have been written and not yet taken (``takeBytes()``).
    public var pendingBytes: Int { pending.count }

    /// Writes one message as the next frame. A ``Message/checkpoint(checksum:)`` is written as
    /// ``appendChecksum()`` writes one: its checksum is of the bytes written here, computed afresh.
    public func append(_ message: Message) {
        precondition(!finished, "append after finish")
        frames += 1
        switch message {
        case .delta(let base, let knowledge):
            pending.append(
                contentsOf: "DELTA \(frames) base=\(Notation.text(base)) knowledge=\(Notation.text(knowledge))".utf8)
        case .record(let record):
            pending.append(contentsOf: "REC \(frames) \(record.id.rawValue) ".utf8)
            RecordPayload.write(record, to: &pending)
        case .pull(let cursor):
            pending.append(contentsOf: "PULL \(frames) since=\(cursor.text)".utf8)
        case .answer(.stored(let record, let cursor)):
            pending.append(contentsOf: "ACK \(frames) \(record.rawValue) \(cursor.text)".utf8)
        case .answer(.refused(let record, let reason, let message)):
            pending.append(contentsOf: "NAK \(frames) \(record.rawValue) \(reason.code) ".utf8)
            JSONPayload.write(string: message, to: &pending)
        case .checkpoint:
            writeCheckpoint()
        case .signature(let role):
            precondition(role == .part, "the final signature is written by finish()")
            writeSignature(.part)
        case .more:
            pending.append(contentsOf: "+MORE \(frames)".utf8)
        case .ignorable(let verb, let arguments):
            precondition(
                verb != "+SUM" && verb != "+MORE", "\(verb) is written as its own message (.checkpoint, .more)")
            pending.append(
                contentsOf: (arguments.isEmpty ? "\(verb) \(frames)" : "\(verb) \(frames) \(arguments)").utf8)
        }
        pending.append(0x0A)
    }

    /// Writes a `REC` frame whose payload is already encoded: `payload` must be the record's
    /// canonical JSON as ``RecordCoding/encode(_:)`` wrote it (e.g. read back from storage).
    public func appendRecord(id: RecordID, encodedPayload payload: [UInt8]) {
        precondition(!finished, "append after finish")
        frames += 1
        pending.append(contentsOf: "REC \(frames) \(id.rawValue) ".utf8)
        pending.append(contentsOf: payload)
        pending.append(0x0A)
    }

    /// Writes a `DELTA` frame and one `REC` frame per record of `delta`.
    public func append(_ delta: Delta) {
        append(.delta(base: delta.base, knowledge: delta.knowledge))
        for record in delta.records { append(.record(record)) }
    }

    /// Writes a checkpoint, `+SUM <n> xxh3-64:<hex>`: the checksum of every byte before it, so
    /// a receiver can verify what came before without waiting for `END` (and store it). A
    /// receiver that does not know `+SUM` skips it, as any `+NAME` frame.
    public func appendChecksum() {
        precondition(!finished, "append after finish")
        frames += 1
        writeCheckpoint()
        pending.append(0x0A)
    }

    /// Writes a signed checkpoint, `SIG <n> part ed25519:<hex>`: the signer's signature of every
    /// byte before it, so a receiver can verify what came before without waiting for `END` (and
    /// act on it).
    public func appendSignature() {
        precondition(!finished, "append after finish")
        frames += 1
        writeSignature(.part)
        pending.append(0x0A)
    }

    /// Writes the `SIG` frame numbered `frames` (without its LF), signing every byte before it.
    private func writeSignature(_ role: StreamSignature.Role) {
        checksum.update(pending[hashed...])
        hashed = pending.count
        let signature = signer.sign(StreamSignature.message(kind: kind, role: role, digest: checksum.sha256Digest))
        pending.append(contentsOf: "SIG \(frames) \(StreamSignature.arguments(role: role, signature: signature))".utf8)
    }

    /// Writes the `+SUM` frame numbered `frames` (without its LF), with the checksum of every
    /// byte written before it.
    private func writeCheckpoint() {
        checksum.update(pending[hashed...])
        hashed = pending.count
        pending.append(contentsOf: "+SUM \(frames) \(checksum.text)".utf8)
    }

    /// The bytes produced since the last call, all counted in the checksum.
    public func takeBytes() -> [UInt8] {
        defer {
            pending.removeAll(keepingCapacity: true)
            hashed = 0
        }
        if !finished { checksum.update(pending[hashed...]) }
        return pending
    }

    /// Writes the `SIG final` frame and the `END` line, and returns the remaining bytes.
    public func finish() -> [UInt8] {
        precondition(!finished, "finish called twice")
        frames += 1
        writeSignature(.final)
        pending.append(0x0A)
        checksum.update(pending[hashed...])
        pending.append(contentsOf: "END \(frames) \(checksum.text)\n".utf8)
        finished = true
        defer { pending = [] }
        return pending
    }

    /// A whole stream in one call.
    public static func encode(header: Header, messages: [Message], signer: StreamSigner) -> [UInt8] {
        let encoder = StreamEncoder(header: header, signer: signer)
        for message in messages { encoder.append(message) }
        return encoder.finish()
    }
}
