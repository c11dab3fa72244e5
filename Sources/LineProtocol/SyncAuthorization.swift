/// How a device proves who it is on a sync request: the HTTP header
/// `Authorization: EDT-Ed25519 device=<id>,counter=<n>,signature=<hex>`.
///
/// The device signs ``message(centre:device:counter:)`` with its Ed25519 key (the one enrolled
/// with the central endpoint): the method, the path, the centre the request is meant for, the
/// device and the counter. `counter` strictly increases from one request to the next (the laptop
/// keeps it in its store), and the centre refuses a counter it has already seen, so a captured
/// header cannot be replayed. The body is bound by the stream's own signatures (`SIG` frames),
/// whose header names the same counter and centre. No clock is involved: laptop clocks are wrong.
public struct SyncAuthorization: Sendable, Hashable {
    /// The authorization scheme name.
    public static let scheme = "EDT-Ed25519"

    public let device: String
    public let counter: UInt64
    /// The raw Ed25519 signature of ``message``.
    public let signature: [UInt8]

    public init(device: String, counter: UInt64, signature: [UInt8]) {
        self.device = device
        self.counter = counter
        self.signature = signature
    }

    /// The bytes a device signs for a request with this counter to the centre whose identity is
    /// `centre` (``SyncContract/centreIdentity(publicKey:)``):
    /// `edt-sync-2 POST /v1/sync <centre> <device> <counter>` (`path` is the resource:
    /// ``SyncContract/syncPath`` or ``SyncContract/relayPath``).
    public static func message(
        centre: String, device: String, counter: UInt64, path: String = SyncContract.syncPath
    ) -> [UInt8] {
        Array("edt-sync-2 POST \(path) \(centre) \(device) \(counter)".utf8)
    }

    /// The header value (without `Authorization: `).
    public var headerValue: String {
        "\(Self.scheme) device=\(device),counter=\(counter),signature=\(Hex.encode(signature))"
    }

    /// Reads a header value; nil when it is not of this scheme or is malformed.
    public init?(headerValue: String) {
        guard headerValue.hasPrefix(Self.scheme + " ") else { return nil }
        var device: String?
        var counter: UInt64?
        var signature: [UInt8]?
        for item in headerValue.dropFirst(Self.scheme.count + 1).split(separator: ",") {
            guard let equals = item.firstIndex(of: "=") else { return nil }
            let key = item[..<equals].trimmingSpaces
            let value = String(item[item.index(after: equals)...].trimmingSpaces)
            switch key {
            case "device": device = value
            case "counter": counter = UInt64(value)
            case "signature": signature = Hex.decode(value)
            default: continue
            }
        }
        guard let device, !device.isEmpty, let counter, let signature else { return nil }
        self.init(device: device, counter: counter, signature: signature)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}

/// Lowercase hexadecimal, as signatures and keys are written on the wire.
public enum Hex {
    public static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        let input = Array(text.utf8)
        guard input.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(input.count / 2)
        var index = 0
        while index < input.count {
            guard let high = value(input[index]), let low = value(input[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}
