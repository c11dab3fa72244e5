import Crypto
import Foundation
import Hummingbird
import LineProtocol
import Logging
import NIOCore
import Synchronization
import Testing

/// A stand-in for the central endpoint, on a loopback port in this process, for what the real
/// centre does not send yet: replies that vouch for peer centres (`peers=`). It answers every
/// `POST /v1/sync` with a reply signed by `key` that answers the request's counter (as its
/// `Authorization` header names it), names the centre `key` is, and holds what `reply` gives
/// for that request: the `peers=` value to put in its header (nil: none) and its frames. It
/// checks nothing of the request: these tests are about what the laptop does with the reply.
struct FakeCentre: Sendable {
    /// What the reply to one request holds.
    struct Reply: Sendable {
        var peers: String?
        var messages: [Message]
        /// A certificate of the device's key to put in the header (`certificate=`), as the real
        /// centre does in every reply; nil: none.
        var certificate: [UInt8]? = nil
    }

    let key: Curve25519.Signing.PrivateKey

    /// The centre's public key, as a laptop records it.
    var publicKeyBase64: String { key.publicKey.rawRepresentation.base64EncodedString() }

    /// Serves until `body` returns (given the centre's URL), then stops.
    func serve(
        _ reply: @escaping @Sendable (_ counter: UInt64) -> Reply, _ body: (String) async throws -> Void
    ) async throws {
        let key = key
        let identity = SyncContract.centreIdentity(publicKey: Array(key.publicKey.rawRepresentation))
        let router = Router()
        router.post(RouterPath(stringLiteral: SyncContract.syncPath)) { request, _ -> Response in
            for try await _ in request.body {}  // the push is read, not checked
            guard let value = request.headers[.authorization], let authorization = SyncAuthorization(headerValue: value)
            else { return Response(status: .unauthorized) }
            let answer = reply(authorization.counter)
            var parameters: [(key: String, value: String)] = [
                (Header.deviceParameter, "central"), (Header.centreParameter, identity),
                (Header.counterParameter, String(authorization.counter)),
            ]
            if let peers = answer.peers { parameters.append((Header.peersParameter, peers)) }
            if let certificate = answer.certificate {
                parameters.append((Header.certificateParameter, Hex.encode(certificate)))
            }
            let bytes = StreamEncoder.encode(
                header: Header(kind: .reply, parameters: parameters), messages: answer.messages,
                signer: StreamSigner(key: key))
            var headers = HTTPFields()
            headers[.contentType] = SyncContract.mediaType
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        var logger = Logger(label: "fake-centre")
        logger.logLevel = .critical  // its shutdown, cancelled, logs errors: not the tests' concern
        let port = Mutex<Int?>(nil)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port ?? 0 } }, logger: logger)
        let serving = Task { try await app.runService() }
        defer { serving.cancel() }
        var waited = 0
        while port.withLock({ $0 }) == nil, waited < 500 {
            try await Task.sleep(for: .milliseconds(20))
            waited += 1
        }
        let bound = try #require(port.withLock { $0 }, "the stand-in centre did not start")
        try await body("http://127.0.0.1:\(bound)")
        serving.cancel()
        _ = await serving.result
    }
}
