import Foundation

/// A throwaway CA, and a certificate it issued for the centre on loopback (subjectAltName
/// IP:127.0.0.1 and DNS:localhost), made with the `openssl` command in a test's directory; also
/// the SHA-256 pin of the centre's public key, as `edt sync --pin` takes it, and a second key
/// that belongs to no certificate.
struct TestCertificates {
    /// The CA's certificate (PEM): what a laptop is given with `--ca-file`.
    let caCertificate: String
    /// The centre's certificate (PEM), issued by the CA.
    let certificate: String
    /// The centre's private key (PEM, unencrypted).
    let key: String
    /// Another private key (PEM), of no certificate.
    let otherKey: String
    /// The centre's private key encrypted with a passphrase (PEM).
    let encryptedKey: String
    /// A certificate for the centre's key, issued by the CA, whose validity ended the second it
    /// was issued (PEM).
    let expiredCertificate: String
    /// `sha256//BASE64` of the centre's public key (DER).
    let pin: String
    /// `sha256//BASE64` of the other key's public key: a wrong pin.
    let otherPin: String

    /// Makes the CA, the centre's key and certificate (valid for two days) and the other key in
    /// `directory`.
    static func make(in directory: URL) throws -> TestCertificates {
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        let ca = path("ca.pem")
        let caKey = path("ca.key")
        let certificate = path("centre.pem")
        let key = path("centre.key")
        let otherKey = path("other.key")
        let encryptedKey = path("centre-encrypted.key")
        let expiredCertificate = path("centre-expired.pem")
        let extensions = path("centre.ext")
        try """
        subjectAltName = IP:127.0.0.1, DNS:localhost
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = serverAuth

        """.write(toFile: extensions, atomically: true, encoding: .utf8)
        let curve = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
        try shell(
            """
            openssl req -x509 \(curve) -keyout '\(caKey)' -out '\(ca)' -days 2 -subj '/CN=edt test CA' \
                -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'
            openssl req \(curve) -keyout '\(key)' -out '\(path("centre.csr"))' -subj '/CN=localhost'
            openssl x509 -req -in '\(path("centre.csr"))' -CA '\(ca)' -CAkey '\(caKey)' -CAcreateserial \
                -out '\(certificate)' -days 2 -extfile '\(extensions)'
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '\(otherKey)'
            openssl pkey -in '\(key)' -aes256 -passout pass:secret -out '\(encryptedKey)'
            openssl x509 -req -in '\(path("centre.csr"))' -CA '\(ca)' -CAkey '\(caKey)' -CAcreateserial \
                -out '\(expiredCertificate)' -days 0 -extfile '\(extensions)'
            """)
        return TestCertificates(
            caCertificate: ca, certificate: certificate, key: key, otherKey: otherKey, encryptedKey: encryptedKey,
            expiredCertificate: expiredCertificate,
            pin: try pin(ofKey: key), otherPin: try pin(ofKey: otherKey))
    }

    /// The pin of the private key at `key`'s public key: SHA-256 of its DER, in base64.
    static func pin(ofKey key: String) throws -> String {
        let digest = try shell(
            "openssl pkey -in '\(key)' -pubout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64"
        )
        return "sha256//" + digest.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `script` with bash, stopping at the first failure (in a pipe too); its stdout, or
    /// an error carrying its stderr.
    @discardableResult
    static func shell(_ script: String) throws -> String {
        let result = try EDTProcess().run(
            ["-c", "set -euo pipefail\n" + script], executable: URL(fileURLWithPath: "/bin/bash"))
        guard result.status == 0 else {
            throw CertificateFailure(message: "openssl failed (\(result.status)): \(result.standardError)")
        }
        return result.standardOutput
    }
}

struct CertificateFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
