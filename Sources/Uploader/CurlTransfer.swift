internal import CCurl
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Settings of one transfer.
public struct TransferOptions: Sendable, Hashable {
    /// Give up connecting after this many seconds.
    public var connectTimeoutSeconds = 15
    /// Abort when fewer than `lowSpeedBytesPerSecond` flow for `lowSpeedSeconds` seconds.
    public var lowSpeedBytesPerSecond = 64
    public var lowSpeedSeconds = 30
    /// A CA bundle file to trust instead of the system's.
    public var caFile: String?
    /// A pinned public key, as curl takes it: `sha256//BASE64` (several joined by `;`).
    public var pinnedPublicKey: String?
    /// Ask for a gzip-compressed response (curl decompresses it).
    public var acceptCompressed = true
    /// Extra request headers, `Name: value`.
    public var headers: [String] = []

    public init() {}
}

/// What a finished transfer reports.
public struct TransferResult: Sendable, Hashable {
    /// The HTTP status (0 for non-HTTP URLs such as file://).
    public let status: Int
    public let bytesSent: Int64
    public let bytesReceived: Int64
    /// The final response's headers, names in lowercase (the last value of a repeated name).
    public let headers: [String: String]
}

/// The status line and headers of the final response (after any `100 Continue`).
public struct ResponseHead: Sendable, Hashable {
    public let status: Int
    /// Names in lowercase; a repeated name keeps its last value.
    public let headers: [String: String]
}

/// One blocking libcurl transfer with a streamed request body and a streamed response.
///
/// Blocking: call it from a thread of its own, never from Swift's cooperative pool.
/// Proxy settings come from the environment as curl reads them (`https_proxy`, `no_proxy`...).
public enum CurlTransfer {
    /// Where a request body comes from: called for the next bytes, returns nil at the end.
    public typealias BodySource = () -> [UInt8]?
    /// Where the response goes: called with each piece as it arrives; return false to abort.
    public typealias ResponseSink = (ArraySlice<UInt8>) -> Bool
    /// Told the final response's status and headers before its body arrives.
    public typealias HeadObserver = (ResponseHead) -> Void

    /// Performs `method` on `url`, streaming `body` up and the response into `sink`.
    public static func perform(
        method: String, url: String, options: TransferOptions = TransferOptions(),
        body: BodySource? = nil, bodyLength: Int64? = nil, onHead: HeadObserver? = nil, sink: @escaping ResponseSink
    ) throws(TransferError) -> TransferResult {
        guard CurlGlobal.initialized else {
            throw TransferError(code: .setup, curlCode: -1, message: "libcurl could not be initialised")
        }
        guard let handle = curl_easy_init() else {
            throw TransferError(code: .setup, curlCode: -1, message: "libcurl could not create a transfer")
        }
        defer { curl_easy_cleanup(handle) }
        let context = TransferContext(source: body, sink: sink, onHead: onHead)
        let unmanaged = Unmanaged.passRetained(context)
        defer { unmanaged.release() }

        var headers: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headers) }
        for header in options.headers { headers = curl_slist_append(headers, header) }

        var setup = CURLE_OK
        func set(_ result: CURLcode) { if setup == CURLE_OK { setup = result } }
        set(edt_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, context.errorBuffer))
        set(edt_curl_setopt_string(handle, CURLOPT_URL, url))
        set(edt_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        set(edt_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, options.connectTimeoutSeconds))
        set(edt_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, options.lowSpeedBytesPerSecond))
        set(edt_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, options.lowSpeedSeconds))
        if options.acceptCompressed { set(edt_curl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, "")) }
        if let caFile = options.caFile { set(edt_curl_setopt_string(handle, CURLOPT_CAINFO, caFile)) }
        if let pin = options.pinnedPublicKey { set(edt_curl_setopt_string(handle, CURLOPT_PINNEDPUBLICKEY, pin)) }
        if headers != nil { set(edt_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headers)) }
        set(edt_curl_setopt_write_callback(handle, writeCallback))
        set(edt_curl_setopt_header_callback(handle, headerCallback))
        set(edt_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, unmanaged.toOpaque()))
        set(edt_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque()))
        if body != nil {
            set(edt_curl_setopt_read_callback(handle, readCallback))
            set(edt_curl_setopt_pointer(handle, CURLOPT_READDATA, unmanaged.toOpaque()))
            if method == "PUT" || url.hasPrefix("file:") {
                set(edt_curl_setopt_long(handle, CURLOPT_UPLOAD, 1))
                if let bodyLength {
                    set(edt_curl_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(bodyLength)))
                }
            } else {
                set(edt_curl_setopt_long(handle, CURLOPT_POST, 1))
                if let bodyLength {
                    set(edt_curl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bodyLength)))
                }
            }
        }
        if method != "GET", method != "POST", method != "PUT" {
            set(edt_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method))
        }
        guard setup == CURLE_OK else { throw TransferError(curl: setup, context: context) }

        let result = curl_easy_perform(handle)
        guard result == CURLE_OK else { throw TransferError(curl: result, context: context) }
        var status = 0
        _ = edt_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var sent: curl_off_t = 0
        var received: curl_off_t = 0
        _ = edt_curl_getinfo_off_t(handle, CURLINFO_SIZE_UPLOAD_T, &sent)
        _ = edt_curl_getinfo_off_t(handle, CURLINFO_SIZE_DOWNLOAD_T, &received)
        return TransferResult(
            status: status, bytesSent: Int64(sent), bytesReceived: Int64(received), headers: context.headers)
    }
}

/// Process-wide libcurl setup, done once before any thread uses curl.
enum CurlGlobal {
    static let initialized: Bool = {
        signal(SIGPIPE, SIG_IGN)  // a peer closing the socket must not kill the program
        return curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    }()
}

/// The Swift state a transfer's C callbacks reach through their userdata pointer.
final class TransferContext {
    let source: CurlTransfer.BodySource?
    let sink: CurlTransfer.ResponseSink
    var pending: [UInt8] = []
    var offset = 0
    var abortedBySink = false
    let onHead: CurlTransfer.HeadObserver?
    var status = 0
    var headers: [String: String] = [:]
    /// CURLOPT_ERRORBUFFER: libcurl's own account of a failure (which certificate check failed).
    let errorBuffer: UnsafeMutablePointer<CChar>

    init(
        source: CurlTransfer.BodySource?, sink: @escaping CurlTransfer.ResponseSink, onHead: CurlTransfer.HeadObserver?
    ) {
        self.source = source
        self.sink = sink
        self.onHead = onHead
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit { errorBuffer.deallocate() }

    /// What libcurl wrote in the error buffer, or nothing.
    var errorDetail: String {
        String(cString: errorBuffer).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Takes one header line as curl delivers it (status line, `Name: value`, blank line).
    func header(_ line: String) {
        let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("HTTP/") {
            status = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            headers = [:]
        } else if text.isEmpty {
            if status >= 200 { onHead?(ResponseHead(status: status, headers: headers)) }
        } else if let colon = text.firstIndex(of: ":") {
            let name = text[..<colon].lowercased()
            headers[name] = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }
}

/// CURLOPT_READFUNCTION: fills curl's buffer from the body source, a chunk at a time.
private let readCallback: curl_read_callback = { buffer, size, count, userdata in
    guard let buffer, let userdata else { return 0 }
    let context = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    let capacity = size * count
    var written = 0
    while written < capacity {
        if context.offset == context.pending.count {
            guard let next = context.source?() else { break }
            context.pending = next
            context.offset = 0
            if next.isEmpty { continue }
        }
        let take = min(capacity - written, context.pending.count - context.offset)
        context.pending.withUnsafeBufferPointer { source in
            guard let base = source.baseAddress else { return }
            (UnsafeMutableRawPointer(buffer) + written).copyMemory(from: base + context.offset, byteCount: take)
        }
        context.offset += take
        written += take
    }
    return written
}

/// CURLOPT_WRITEFUNCTION: hands each piece of the response to the sink.
private let writeCallback: curl_write_callback = { buffer, size, count, userdata in
    guard let userdata else { return 0 }
    let context = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard let buffer, length > 0 else { return length }
    let bytes = UnsafeRawBufferPointer(start: buffer, count: length)
    guard context.sink(Array(bytes)[...]) else {
        context.abortedBySink = true
        return 0  // anything but `length` makes curl stop with CURLE_WRITE_ERROR
    }
    return length
}

/// CURLOPT_HEADERFUNCTION: hands each header line to the context.
private let headerCallback: curl_write_callback = { buffer, size, count, userdata in
    let length = size * count
    guard let userdata, let buffer else { return length }
    let context = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    context.header(String(decoding: UnsafeRawBufferPointer(start: buffer, count: length), as: UTF8.self))
    return length
}

extension TransferError {
    init(curl code: CURLcode, context: TransferContext) {
        let text = String(cString: curl_easy_strerror(code))
        let kind: Code
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: kind = .couldNotConnect
        case CURLE_OPERATION_TIMEDOUT: kind = .timedOut
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_CACERT_BADFILE,
            CURLE_SSL_CERTPROBLEM:
            kind = .tls
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_WEIRD_SERVER_REPLY,
            CURLE_BAD_CONTENT_ENCODING, CURLE_HTTP2, CURLE_HTTP2_STREAM:
            kind = .interrupted
        case CURLE_WRITE_ERROR where context.abortedBySink, CURLE_ABORTED_BY_CALLBACK: kind = .aborted
        case CURLE_READ_ERROR, CURLE_FILE_COULDNT_READ_FILE, CURLE_WRITE_ERROR: kind = .file
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL, CURLE_BAD_FUNCTION_ARGUMENT, CURLE_UNKNOWN_OPTION:
            kind = .setup
        default: kind = .other
        }
        // For TLS, libcurl's detail says which check failed (an unknown issuer, a name that
        // does not match, the pin).
        let detail = context.errorDetail
        let message = kind == .tls && !detail.isEmpty ? detail : text
        self.init(code: kind, curlCode: Int(code.rawValue), message: message)
    }
}
