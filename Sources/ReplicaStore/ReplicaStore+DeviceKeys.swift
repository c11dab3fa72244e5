import Foundation
import LineProtocol

/// Whose key is whose. Other devices' keys: the first bundle from a device pins its key, a
/// bundle carrying its centre's certificate of the key pins it for certain, and a later bundle
/// naming that device under another key is refused, so a colleague's device name cannot be
/// borrowed. This device's own certificate: the centre's signature vouching for this device's
/// key, sent with every reply and put in the header of this device's bundles. All kept sealed.
extension ReplicaStore {
    private static let deviceKeysName = "deviceKeys"
    private static let deviceKeysContext = "device-keys"
    private static let deviceKeysWhat = "the devices' keys"
    private static let certificateName = "deviceCertificate"
    private static let certificateContext = "device-certificate"
    private static let certificateWhat = "this device's certificate"

    /// Every pinned key (raw 32 bytes) by device id.
    public func pinnedDeviceKeys() throws(StoreError) -> [String: [UInt8]] {
        guard
            let plain = try sealedMeta(Self.deviceKeysName, context: Self.deviceKeysContext, what: Self.deviceKeysWhat)
        else { return [:] }
        var keys: [String: [UInt8]] = [:]
        for line in String(decoding: plain, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let key = Hex.decode(String(parts[1])), key.count == 32 else {
                throw StoreError(
                    .corrupt, "the devices' keys in the store cannot be read: the store was damaged or altered")
            }
            keys[String(parts[0])] = key
        }
        return keys
    }

    /// Pins `key` (raw 32 bytes) as `device`'s, durably, replacing any before.
    public func pinDeviceKey(_ key: [UInt8], for device: String) throws(StoreError) {
        guard key.count == 32 else { throw StoreError(.corrupt, "a device key is 32 bytes, not \(key.count)") }
        var keys = try pinnedDeviceKeys()
        keys[device] = key
        let text = keys.keys.sorted().map { "\($0) \(Hex.encode(keys[$0, default: []]))" }.joined(separator: "\n")
        try setSealedMeta(
            Array(text.utf8), name: Self.deviceKeysName, context: Self.deviceKeysContext, what: Self.deviceKeysWhat)
    }

    /// The centre's certificate of this device's key (64 bytes), once a reply brought one.
    public func deviceCertificate() throws(StoreError) -> [UInt8]? {
        try sealedMeta(Self.certificateName, context: Self.certificateContext, what: Self.certificateWhat)
    }

    /// `certificate` sealed as ``deviceCertificate()`` reads it, to be kept by
    /// ``keepCertificate(_:in:)`` in a transaction that writes more (a sync's reply, `applySync`).
    func sealCertificate(_ certificate: [UInt8]) throws -> Data {
        try cipher.seal(certificate, context: Self.certificateContext)
    }

    /// Keeps a certificate sealed by ``sealCertificate(_:)`` within `write`, replacing any before.
    static func keepCertificate(_ sealed: Data, in write: inout SealedWrite) throws {
        try write.put(.meta, certificateName, sealed)
    }
}
