// Thin helpers over POSIX sockets: resolve, listen, accept, connect, read, write, shut down.
// Sockets are plain file descriptors (Int32), so they cross threads freely.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A socket-level failure, described for the log or the command line.
struct SocketError: Error, CustomStringConvertible {
    let description: String

    /// An error for the failed call `operation`, with the text of the current `errno`.
    static func posix(_ operation: String) -> SocketError {
        SocketError(description: "\(operation): \(String(cString: strerror(errno)))")
    }
}

/// One resolved socket address (an IPv4 or IPv6 `sockaddr`), copied out of `getaddrinfo`.
struct SocketAddress: Sendable {
    let storage: sockaddr_storage
    let length: socklen_t

    var family: Int32 { Int32(storage.ss_family) }

    /// Copies `length` bytes of the socket address at `address`.
    init(copying address: UnsafeRawPointer, length: socklen_t) {
        var storage = sockaddr_storage()
        let count = min(Int(length), MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &storage) {
            $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: count))
        }
        self.storage = storage
        self.length = socklen_t(count)
    }

    /// Resolves `endpoint` to its addresses (numeric port; `passive` for an address to bind).
    static func resolve(_ endpoint: Endpoint, passive: Bool = false) throws -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard status == 0 else {
            throw SocketError(description: "cannot resolve \(endpoint): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var cursor = list
        while let info = cursor?.pointee {
            if let address = info.ai_addr {
                addresses.append(SocketAddress(copying: address, length: info.ai_addrlen))
            }
            cursor = info.ai_next
        }
        guard !addresses.isEmpty else { throw SocketError(description: "cannot resolve \(endpoint): no addresses") }
        return addresses
    }

    /// The address as `HOST:PORT` (`[HOST]:PORT` for IPv6), numeric.
    var text: String {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var port = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let status = withSockaddr { address, length in
            getnameinfo(
                address, length, &host, socklen_t(host.count), &port, socklen_t(port.count),
                NI_NUMERICHOST | NI_NUMERICSERV)
        }
        guard status == 0 else { return "?" }
        let hostText = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let portText = String(decoding: port.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return family == AF_INET6 ? "[\(hostText)]:\(portText)" : "\(hostText):\(portText)"
    }

    /// Calls `body` with this address as a `sockaddr` pointer and its length.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}

/// POSIX socket operations on file descriptors. Reads and writes retry on EINTR.
/// (`write` works on any descriptor, so the log uses it too.)
enum Socket {
    /// A listening TCP socket bound to `address` (with SO_REUSEADDR).
    static func listen(on address: SocketAddress) throws -> Int32 {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError.posix("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockaddr { bind(fd, $0, $1) }
        guard bound == 0 else {
            let error = SocketError.posix("bind \(address.text)")
            close(fd)
            throw error
        }
        guard Glibc.listen(fd, 128) == 0 else {
            let error = SocketError.posix("listen")
            close(fd)
            throw error
        }
        return fd
    }

    /// The local address a socket is bound to (to learn the port the kernel chose for port 0).
    static func localAddress(of fd: Int32) throws -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard status == 0 else { throw SocketError.posix("getsockname") }
        return withUnsafePointer(to: &storage) { SocketAddress(copying: $0, length: length) }
    }

    /// Waits for the next connection; retries on EINTR and on transient errors.
    static func accept(from listener: Int32) -> Int32 {
        while true {
            let fd = Glibc.accept(listener, nil, nil)
            if fd >= 0 { return fd }
            if errno != EINTR && errno != ECONNABORTED {
                Log.line("accept failed: \(String(cString: strerror(errno)))")
                usleep(100_000)  // e.g. EMFILE: back off rather than spin
            }
        }
    }

    /// A TCP connection to the first of `addresses` that accepts, with TCP_NODELAY.
    static func connect(to addresses: [SocketAddress]) throws -> Int32 {
        var lastError = SocketError(description: "connect: no addresses")
        for address in addresses {
            let fd = socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw SocketError.posix("socket") }
            var status: Int32
            repeat {
                status = address.withSockaddr { Glibc.connect(fd, $0, $1) }
            } while status != 0 && errno == EINTR
            if status == 0 {
                noDelay(fd)
                return fd
            }
            lastError = SocketError.posix("connect \(address.text)")
            close(fd)
        }
        throw lastError
    }

    /// Turns off Nagle's algorithm, so small writes (a cut response, an injected reply) leave at once.
    static func noDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads up to `maximum` bytes. Returns nil on error or receive timeout, an empty array at end of stream.
    static func read(_ fd: Int32, maximum: Int = 65_536) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, maximum, 0) }
            if count >= 0 { return Array(buffer.prefix(count)) }
            if errno != EINTR { return nil }
        }
    }

    /// Writes all of `bytes`. Returns false if the peer is gone (EPIPE, ECONNRESET, ...).
    @discardableResult
    static func write(_ fd: Int32, _ bytes: some Collection<UInt8>) -> Bool {
        let ok = bytes.withContiguousStorageIfAvailable { writeAll(fd, UnsafeRawBufferPointer($0)) }
        return ok ?? Array(bytes).withUnsafeBytes { writeAll(fd, $0) }
    }

    private static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < buffer.count {
            let count = Glibc.write(fd, buffer.baseAddress?.advanced(by: offset), buffer.count - offset)
            if count > 0 {
                offset += count
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }

    /// Sends FIN after any queued data (`SHUT_WR`), or stops both directions (`SHUT_RDWR`);
    /// shutting down wakes a thread blocked reading the socket, without freeing the descriptor.
    static func shutdown(_ fd: Int32, _ how: Int32) {
        _ = Glibc.shutdown(fd, how)
    }

    /// Makes `close` reset the connection (RST) instead of closing it gracefully (FIN).
    static func resetOnClose(_ fd: Int32) {
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
    }

    /// Makes reads give up (return nil) after `seconds` without data.
    static func setReceiveTimeout(_ fd: Int32, seconds: Double) {
        let whole = Int(seconds)
        var value = timeval(tv_sec: whole, tv_usec: Int(((seconds - Double(whole)) * 1_000_000).rounded()))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Waits up to `seconds` for `fd` to become readable (data, end of stream or error).
    static func waitReadable(_ fd: Int32, seconds: Double) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, Int32(max(0, min(seconds * 1000, Double(Int32.max))))) > 0
    }

    /// Closes gracefully: FIN after the queued data, then reads and discards what the peer still
    /// sends for up to `drainSeconds` (closing with unread input would send RST and could destroy
    /// the data in flight), then closes.
    static func closeGracefully(_ fd: Int32, drainSeconds: Double = 2) {
        shutdown(fd, Int32(SHUT_WR))
        let deadline = Date().addingTimeInterval(drainSeconds)
        while case let remaining = deadline.timeIntervalSinceNow, remaining > 0 {
            guard waitReadable(fd, seconds: remaining), let bytes = read(fd), !bytes.isEmpty else { break }
        }
        close(fd)
    }
}

/// Log lines on stderr, one `write` each, so lines from different connection threads never interleave.
enum Log {
    static func line(_ text: String) {
        write(to: STDERR_FILENO, text)
    }

    /// Writes `text` and a newline to `fd`, unbuffered.
    static func write(to fd: Int32, _ text: String) {
        _ = Socket.write(fd, Array((text + "\n").utf8))
    }
}
