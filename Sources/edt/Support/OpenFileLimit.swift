#if canImport(Glibc)
import Glibc
#endif

/// The process's open-file limit: every connection the centre holds is an open file.
enum OpenFileLimit {
    /// Files the centre needs besides its connections (the database and its journal, the
    /// listening socket, the standard streams, the event loops' own descriptors).
    static let reserve = 64

    /// Raises the soft limit on open files to the hard limit (the default soft limit, often
    /// 1,024, is lower than the default connection cap allows for), and returns the limit now in
    /// force; `nil` if it cannot be read.
    static func raise() -> Int? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur == rlim_t.max ? Int.max : Int(clamping: limit.rlim_cur)
    }
}

extension Duration {
    /// The duration in seconds, with its fraction.
    var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
