public import Foundation
import NIOSSL

/// The two PEM files the centre serves HTTPS with (`edt central serve --tls-cert FILE --tls-key
/// FILE`): its certificate chain and the private key of its certificate.
///
/// The files are read when the server starts (``check()`` reads them ahead, so that a command can
/// refuse to start with a clear reason); a renewed certificate is taken by restarting the centre.
/// The centre speaks TLS 1.2 or 1.3 and HTTP/1.1 over it.
public struct TLSFiles: Sendable, Hashable {
    /// The certificate chain, PEM: the centre's certificate first, then any intermediate CA
    /// certificates a client needs to reach the CA it trusts.
    public var certificateChain: String
    /// The private key of the first certificate of ``certificateChain``, PEM, unencrypted.
    public var privateKey: String

    /// The chain at `certificateChain` and its key at `privateKey` (file paths).
    public init(certificateChain: String, privateKey: String) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }

    /// What is wrong with one of the two files, and what to do about it.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        /// Whether the file could not be read, or was read and is not what it must be.
        public enum Kind: Sendable, Hashable {
            /// Missing, a directory, or not readable by this process.
            case unreadable
            /// Not a PEM certificate chain or private key, an encrypted key, or a key that does
            /// not belong to the certificate.
            case invalid
        }

        public let kind: Kind
        /// The file at fault (for a key that does not match, the key).
        public let path: String
        /// What happened and what to do, naming the file.
        public let message: String

        public var description: String { message }
    }

    /// Reads both files and checks them as the server will use them: a chain of PEM
    /// certificates, an unencrypted PEM private key, and the key belonging to the first
    /// certificate. Returns when the first certificate stops being valid.
    @discardableResult
    public func check() throws(Problem) -> Date {
        let (configuration, expiry) = try loaded()
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw Problem(
                kind: .invalid, path: privateKey,
                message:
                    "the private key \(privateKey) does not belong to the certificate \(certificateChain) (\(error)): give the key the certificate was issued for"
            )
        }
        return expiry
    }

    /// The server's TLS configuration from the two files: TLS 1.2 at least, HTTP/1.1 offered.
    func serverConfiguration() throws(Problem) -> TLSConfiguration {
        try loaded().configuration
    }

    private func loaded() throws(Problem) -> (configuration: TLSConfiguration, expiry: Date) {
        let chainPEM = try contents(of: certificateChain, what: "TLS certificate chain")
        let keyPEM = try contents(of: privateKey, what: "TLS private key")
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(chainPEM)
        } catch {
            chain = []
        }
        guard let leaf = chain.first else {
            let found =
                String(decoding: chainPEM, as: UTF8.self).contains("PRIVATE KEY-----")
                ? "a private key, not a certificate (the two files swapped?)"
                : "no PEM certificate (-----BEGIN CERTIFICATE-----)"
            throw Problem(
                kind: .invalid, path: certificateChain,
                message:
                    "\(certificateChain) holds \(found): give the centre's certificate chain in PEM, its own certificate first"
            )
        }
        let keyText = String(decoding: keyPEM, as: UTF8.self)
        guard !keyText.contains("ENCRYPTED") else {
            throw Problem(
                kind: .invalid, path: privateKey,
                message:
                    "the private key \(privateKey) is encrypted: give it unencrypted, readable by the centre's user only (openssl pkey -in \(privateKey) -out KEY.pem, then chmod 600 KEY.pem)"
            )
        }
        let key: NIOSSLPrivateKey
        do {
            // A key encrypted in a way not caught above would make BoringSSL ask for its
            // passphrase on the terminal: the callback refuses instead.
            key = try NIOSSLPrivateKey(bytes: keyPEM, format: .pem) { (_: NIOSSLPassphraseSetter<[UInt8]>) in
                throw EncryptedKey()
            }
        } catch {
            let found =
                keyText.contains("BEGIN CERTIFICATE-----")
                ? "a certificate, not a private key (the two files swapped?)"
                : "no PEM private key (-----BEGIN PRIVATE KEY-----), or one that cannot be read"
            throw Problem(
                kind: .invalid, path: privateKey,
                message: "\(privateKey) holds \(found): give the private key of the centre's certificate, in PEM")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        return (configuration, Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter)))
    }

    private func contents(of path: String, what: String) throws(Problem) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw Problem(kind: .unreadable, path: path, message: "the \(what) \(path) does not exist: check the path")
        }
        guard !isDirectory.boolValue else {
            throw Problem(kind: .unreadable, path: path, message: "the \(what) \(path) is a directory: name the file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Problem(
                kind: .unreadable, path: path,
                message: "the \(what) \(path) cannot be read: check its permissions (the centre's user must read it)")
        }
        return Array(data)
    }

    /// Thrown by the passphrase callback: the key is encrypted.
    private struct EncryptedKey: Error {}
}
