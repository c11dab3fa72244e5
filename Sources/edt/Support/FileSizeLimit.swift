#if canImport(Glibc)
import Glibc
#endif

/// A write past the size the system allows a file (`ulimit -f`, `RLIMIT_FSIZE`) sends the
/// writing process SIGXFSZ, which stops it by default. The centre ignores it instead: the write
/// fails (`EFBIG`) as one on a full disk does, the database rolls back what it was storing, the
/// request is answered with the reason, and the centre goes on serving: once the limit is raised
/// or room is made, it writes again by itself.
enum FileSizeLimit {
    /// Makes writes past the limit fail rather than stop the process.
    static func failWritesPastIt() {
        signal(SIGXFSZ, SIG_IGN)
    }
}
