import ArgumentParser
import Foundation
import Uploader

/// `--peer-ca-file FILE` and `--peer-pin PIN`: how the centre checks the peer centres it forwards
/// to over https (`edt central serve`, `edt central peer sync`). They apply to every peer; without
/// them a peer's certificate must be one the system's CAs vouch for.
struct PeerTLSOptions: ParsableArguments {
    @Option(
        name: .customLong("peer-ca-file"),
        help: ArgumentHelp(
            "A CA bundle (PEM) to trust for the peer centres' https:// URLs instead of the system's (one file may hold several CAs).",
            valueName: "FILE"))
    var caFile: String?

    @Option(
        name: .customLong("peer-pin"),
        help: ArgumentHelp(
            "Pin the peer centres' public keys: sha256//BASE64 (several joined by ;, one per peer).", valueName: "PIN"))
    var pin: String?

    func validate() throws {
        guard let pin else { return }
        for part in pin.split(separator: ";", omittingEmptySubsequences: false) {
            guard part.hasPrefix("sha256//"), let digest = Data(base64Encoded: String(part.dropFirst(8))),
                digest.count == 32
            else {
                throw ValidationError(
                    "--peer-pin \"\(pin)\" must be sha256//BASE64 (the base64 of a SHA-256 of a public key), several joined by ;"
                )
            }
        }
    }

    /// The forwarder's transfer options with these: the CA file read first, so that a missing
    /// one fails at once (exit 3) and one that holds no certificate is refused (exit 1).
    func applied(to transfer: TransferOptions) throws(Failure) -> TransferOptions {
        var transfer = transfer
        if let caFile {
            guard let data = FileManager.default.contents(atPath: caFile) else {
                throw .inputOutput(
                    "cannot read the peer CA file \(caFile) (--peer-ca-file): check the path and its permissions")
            }
            guard String(decoding: data, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
                throw .refused(
                    "--peer-ca-file \(caFile) holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the CA certificate(s) that issued the peers' certificates, in PEM"
                )
            }
            transfer.caFile = caFile
        }
        if let pin { transfer.pinnedPublicKey = pin }
        return transfer
    }
}
