import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to a port on loopback, driven byte by byte: what a stalled or hostile
/// client does to the centre (half a request line, headers never finished, a body that stops).
final class RawConnection {
    let descriptor: Int32

    /// Connects to 127.0.0.1:`port`; `receiveBuffer` sets a small receive buffer (a client that
    /// reads little), before connecting.
    init(port: Int, receiveBuffer: Int32? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RawConnectionFailure(message: "socket: errno \(errno)") }
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw RawConnectionFailure(message: "connect: errno \(code)")
        }
    }

    deinit { Glibc.close(descriptor) }

    /// Sends all of `bytes` (blocking); `false` if the connection is gone.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent < 0, errno == EINTR { continue }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Sends as much of `bytes` as the connection takes without waiting; the count sent.
    func sendWithoutWaiting(_ bytes: [UInt8]) -> Int {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if sent < 0, errno == EINTR { continue }
            if sent <= 0 { break }
            offset += sent
        }
        return offset
    }

    /// What a read found: the peer closed (end of stream or reset), bytes, or nothing in time.
    enum Read: Equatable {
        case closed
        case bytes([UInt8])
        case nothing
    }

    /// Waits up to `seconds` for something to read.
    func read(within seconds: Double) -> Read {
        var descriptors = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptors, 1, Int32(max(0, seconds * 1000)))
        guard ready > 0 else { return .nothing }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count > 0 { return .bytes(Array(buffer[..<count])) }
        return .closed  // 0: end of stream; -1: reset (ECONNRESET), or another error
    }

    /// Whether the centre has closed the connection within `seconds` (what it sends meanwhile is
    /// read and dropped).
    func closedByPeer(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let left = deadline.timeIntervalSinceNow
            switch read(within: max(0, left)) {
            case .closed: return true
            case .bytes: continue
            case .nothing: if left <= 0 { return false }
            }
        }
    }

    /// Whether the connection is still open now (nothing to read, or bytes but no end).
    var isOpen: Bool {
        var descriptors = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptors, 1, 0) > 0 else { return true }
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0
    }

    /// Reads until the centre closes the connection or `seconds` pass; what came.
    func readUntilClosed(within seconds: Double) -> (bytes: [UInt8], closed: Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        var bytes: [UInt8] = []
        while true {
            let left = deadline.timeIntervalSinceNow
            switch read(within: max(0, left)) {
            case .closed: return (bytes, true)
            case .bytes(let more): bytes += more
            case .nothing: if left <= 0 { return (bytes, false) }
            }
        }
    }

    /// Reads until `text` has come, the connection closes, or `seconds` pass; what came.
    func read(until text: String, within seconds: Double) -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var bytes: [UInt8] = []
        while !String(decoding: bytes, as: UTF8.self).contains(text) {
            let left = deadline.timeIntervalSinceNow
            guard left > 0, case .bytes(let more) = read(within: left) else { break }
            bytes += more
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

struct RawConnectionFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
