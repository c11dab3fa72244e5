import Foundation
import LineProtocol
import Replication

/// Reads the central endpoint's response as it arrives: a `reply` stream when the status is
/// 200, a short text reason otherwise. Nothing is trusted until ``verified(url:)``: the whole
/// stream, signed by the centre this device trusts, answering this very request (its counter).
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
    }

    private var head: ResponseHead?
    private let decoder: MessageDecoder
    private let counter: UInt64
    private let centre: String

    /// A reader for the reply to request `counter`, which the centre whose key is `centreKey`
    /// (identity `centre`) must have signed.
    init(centreKey: StreamVerifier, centre: String, counter: UInt64) {
        decoder = MessageDecoder(verifier: centreKey)
        self.centre = centre
        self.counter = counter
    }
    private var stream = Stream()
    private var text: [UInt8] = []
    /// Why decoding stopped, when the reply was damaged.
    private(set) var damage: String?

    /// The response's status, once its head arrived.
    var status: Int? { head.map { Int($0.status) } }

    /// The text of a response that is not a reply (the centre's reason), trimmed.
    var reason: String { String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }

    func head(_ head: ResponseHead) {
        self.head = head
    }

    /// Takes the next piece of the response body; false stops the transfer (a damaged reply).
    func consume(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard head?.status == 200 else {
            if text.count < 4_096 { text.append(contentsOf: bytes.prefix(4_096 - text.count)) }
            return true
        }
        do {
            try decoder.decode(bytes) { (message, _) throws(LineProtocolError) in
                switch message {
                case .answer(let answer): self.stream.answers.append(answer)
                case .delta(_, let knowledge): self.stream.cursor = Cursor(knowledge)
                case .record(let record): self.stream.pulled.append(record)
                case .more: self.stream.more = true
                case .pull, .checkpoint, .signature, .ignorable: break
                }
            }
            return true
        } catch {
            damage = error.description
            return false
        }
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
            var stream = stream
            stream.certificate = header[Header.certificateParameter].flatMap(Hex.decode)
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
