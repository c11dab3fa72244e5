import Foundation
import LineProtocol
import Replication

/// Reads the central endpoint's response as it arrives: a `reply` stream when the status is
/// 200, a short text reason otherwise. Nothing is trusted until ``verified(url:)``: the whole
/// stream, signed by the centre this device trusts, answering this very request (its counter).
///
/// A reply is staged on disk as it arrives (``StagedReply``, in `stagingDirectory`) and
/// verified on the way (signatures, frames, the end line), its records handed over unread and
/// let go: neither its bytes nor its records are held in memory then. Only once the whole
/// reply has verified does ``verified(url:)`` read it back from the file, a piece at a time,
/// into the answers and records to apply; a forged, damaged or truncated reply is never read
/// back at all. A reply that brings no records (a push's acknowledgements alone) is not read
/// back either: what it says besides records (answers, cursor, `+MORE`, `+GONE`) is kept as it
/// arrives, and used only once the whole reply has verified. What is kept of a reply not yet
/// verified is bounded (``keptAnswersLimit``): past it, nothing more is kept, and the reply is
/// read back from its file once verified, as a reply with records is. So is what is staged
/// (``maximumBytes``): a reply running past what any answer to this request may hold is damaged,
/// and its transfer stops, so that nobody between the laptop and its centre can fill the
/// laptop's disk with a reply that never ends.
final class ReplyReader {
    /// A verified reply.
    struct Stream {
        /// The `ACK` and `NAK` frames, in reply order.
        var answers: [RecordAnswer] = []
        var pulled: [Record] = []
        /// The cursor the pull brought the device up to (the `DELTA`'s knowledge).
        var cursor: Cursor?
        var more = false
        /// The centre's certificate of this device's key (`cert=` in the header), if it sent one.
        var certificate: [UInt8]?
        /// The peer centres the centre vouches for (`peers=` in the header): the key each
        /// peer's entry device (`central.<identity>`) signs with. Empty when it names none.
        var peerCentres: [DeviceID: [UInt8]] = [:]
        /// Cases the device's authorities no longer see (`+GONE` frames): it drops its copy.
        var gone: [RecordID] = []
    }

    /// The verb of the frame naming a case the device's authorities no longer see.
    static let goneVerb = "+GONE"

    private var head: ResponseHead?
    private let verifier: StreamVerifier
    private let decoder: MessageDecoder
    private let counter: UInt64
    private let centre: String
    private let stagingDirectory: URL
    private var staged: StagedReply?

    /// The most answers and `+GONE` frames kept in memory while the reply is not yet verified:
    /// one answer per record the request carried, and as many again (a reply answers each
    /// record once). A reply saying more is read back from its file once verified.
    let keptAnswersLimit: Int
    /// The most bytes of a reply staged (``maximumReplyBytes(pushed:)`` unless told).
    let maximumBytes: Int

    /// The most bytes a reply to a request carrying `pushed` records may hold. A page of cases
    /// (`Protocol/PROTOCOL.md` §4.4: at most 8 MiB of payloads past a first case of at most a
    /// 1 MiB line by default, 32 MiB at most in edt) with its header, `DELTA`, signatures and
    /// `+GONE` frames fits in 64 MiB. Each record pushed adds one answer (an `ACK` of about a
    /// hundred bytes or a `NAK` with its reason, allowed 4 KiB) and, on a first pull, perhaps
    /// the centre's version of that case (a line of at most 1 MiB), outside the page.
    static func maximumReplyBytes(pushed: Int) -> Int {
        (64 << 20) + max(0, pushed) * (Limits.standard.maximumLineBytes + (4 << 10))
    }

    /// A reader for the reply to request `counter`, which the centre whose key is `centreKey`
    /// (identity `centre`) must have signed; the reply is staged in `stagingDirectory` (the
    /// store's directory) while it arrives. `pushed`: how many records the request carried.
    /// `maximumBytes`: the most a reply may hold (``maximumReplyBytes(pushed:)`` when nil).
    init(
        centreKey: StreamVerifier, centre: String, counter: UInt64, pushed: Int = 0,
        stagingDirectory: URL = FileManager.default.temporaryDirectory, maximumBytes: Int? = nil
    ) {
        keptAnswersLimit = 2 * max(0, pushed) + 1_024
        self.maximumBytes = maximumBytes ?? Self.maximumReplyBytes(pushed: pushed)
        verifier = centreKey
        decoder = MessageDecoder(verifier: centreKey)
        self.centre = centre
        self.counter = counter
        self.stagingDirectory = stagingDirectory
    }
    private var text: [UInt8] = []
    /// What the reply said besides records, kept while it arrives (used only once verified).
    private var said = Stream()
    /// Whether the reply is read back from its staging file once verified: it carried records,
    /// or said more than ``keptAnswersLimit`` allows to keep.
    private(set) var readsBack = false
    /// Why decoding stopped, when the reply was damaged.
    private(set) var damage: String?
    /// Why the reply could not be kept on disk, when it could not.
    private(set) var stagingFailure: String?

    /// The response's status, once its head arrived.
    var status: Int? { head.map { Int($0.status) } }

    /// The text of a response that is not a reply (the centre's reason), trimmed.
    var reason: String { String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }

    func head(_ head: ResponseHead) {
        self.head = head
    }

    /// Takes the next piece of the response body; false stops the transfer (a damaged reply,
    /// or one that cannot be staged).
    func consume(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard head?.status == 200 else {
            if text.count < 4_096 { text.append(contentsOf: bytes.prefix(4_096 - text.count)) }
            return true
        }
        guard (staged?.count ?? 0) + bytes.count <= maximumBytes else {
            damage = "it ran past \(maximumBytes) bytes, more than any reply to this request may hold"
            return false
        }
        do throws(StagedReply.Failure) {
            if staged == nil { staged = try StagedReply(in: stagingDirectory) }
            try staged?.append(bytes)
        } catch {
            stagingFailure = error.description
            return false
        }
        do {
            // Verified on the way; the records are read only once the whole reply has verified.
            try decoder.decode(bytes) { [self] (_: UnreadRecord) in
                readBack()
            } _: { [self] message, _ in
                guard !readsBack else { return }
                Self.note(message, in: &said)
                if said.answers.count + said.gone.count > keptAnswersLimit { readBack() }
            }
            return true
        } catch {
            damage = error.description
            return false
        }
    }

    /// Reads the staged reply back, once verified: its answers, records, cursor and `+MORE`.
    private func readStaged() throws(SyncSession.StateMachine.Failure) -> Stream {
        var stream = Stream()
        guard let staged else { return stream }
        let decoder = MessageDecoder(verifier: verifier)
        do {
            try staged.read { piece in
                try decoder.decode(piece) { (message, _) throws(LineProtocolError) in
                    Self.note(message, in: &stream)
                }
            }
            try decoder.finish()
        } catch let error as StagedReply.Failure {
            throw .local(error.description)
        } catch {
            throw .transient("the reply was damaged in transit (\(error))", retryAfter: nil)
        }
        return stream
    }

    /// From now on, keeps nothing in memory: the reply is read back once verified.
    private func readBack() {
        readsBack = true
        said = Stream()
    }

    /// Keeps what `message` of a reply says in `stream`.
    private static func note(_ message: Message, in stream: inout Stream) {
        switch message {
        case .answer(let answer): stream.answers.append(answer)
        case .delta(_, let knowledge): stream.cursor = Cursor(knowledge)
        case .record(let record): stream.pulled.append(record)
        case .more: stream.more = true
        case .ignorable(Self.goneVerb, let argument):
            // In a verified reply; one naming no case (a later version's) names nothing to drop.
            if let id = try? RecordID(argument) { stream.gone.append(id) }
        case .pull, .checkpoint, .signature, .ignorable: break
        }
    }

    /// The peer centres a verified reply's header vouches for (``Header/peersParameter``); a
    /// malformed value makes the reply a damaged one.
    private static func peerCentres(in header: Header) throws(SyncSession.StateMachine.Failure) -> [DeviceID: [UInt8]] {
        guard let value = header[Header.peersParameter] else { return [:] }
        guard let peers = Header.parsePeers(value) else {
            throw .transient(
                "the reply was damaged in transit (its \(Header.peersParameter)= value is not a list of central.<identity>:<64 hex> pairs)",
                retryAfter: nil)
        }
        var peerCentres: [DeviceID: [UInt8]] = [:]
        for peer in peers {
            // A parsed device is a valid device id.
            guard let device = try? DeviceID(peer.device) else { continue }
            peerCentres[device] = peer.key
        }
        return peerCentres
    }

    /// The reply, once the transfer ended: verified, or the failure it amounts to.
    func verified(url: String) throws(SyncSession.StateMachine.Failure) -> Stream {
        guard let head else { throw .transient("no response from \(url)", retryAfter: nil) }
        let reason = String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let retryAfter = head.headers["retry-after"].flatMap(Double.init)
        switch head.status {
        case 200:
            do {
                try decoder.finish()
            } catch {
                throw .transient("the reply was damaged in transit (\(error))", retryAfter: nil)
            }
            guard let header = decoder.header, header.kind == .reply else {
                throw .transient("the response is not an EDTLP reply", retryAfter: nil)
            }
            guard header.counter == counter, header.centre == centre else {
                throw .transient(
                    "the reply does not answer this request (it names request \(header.counter.map(String.init) ?? "none") of centre \(header.centre ?? "none")): it was replayed or misrouted",
                    retryAfter: nil)
            }
            let peerCentres = try Self.peerCentres(in: header)
            // Read back for its records, or for more than could be kept while it arrived; else
            // what it said was kept as it was verified.
            var stream = readsBack ? try readStaged() : said
            stream.certificate = header[Header.certificateParameter].flatMap(Hex.decode)
            stream.peerCentres = peerCentres
            return stream
        case 401: throw .permanent("the central endpoint refused this device: \(reason)")
        case 403: throw .permanent("the central endpoint refused this device: \(reason)")
        case 413: throw .tooLarge(reason)
        case 409: throw .startOver(reason)
        case 400:
            // Our own streams are well formed: a stream the centre found damaged was damaged on the way.
            throw .transient("the centre could not read the request (\(reason))", retryAfter: nil)
        case 408, 429, 500...599:
            throw .transient(
                "the central endpoint answered \(head.status)\(reason.isEmpty ? "" : ": \(reason)")",
                retryAfter: retryAfter)
        default:
            throw .permanent("\(url) answered HTTP \(head.status): is it an edt central endpoint?")
        }
    }
}
