#if canImport(Glibc)
import Glibc
#endif

/// Process-wide settings of the C allocator for the long-running central endpoint.
enum AllocatorTuning {
    /// A push of thousands of ~4 KB records allocates and frees tens of megabytes per second
    /// on several threads. With glibc's defaults each thread's heap is given back to the
    /// kernel as soon as it shrinks and taken again a moment later (an `mprotect` and fresh
    /// zeroed pages each time), which cost the endpoint about a tenth of its CPU. Keeping up to
    /// 256 MiB of freed memory per heap, and growing heaps 64 MiB at a time, stops that churn;
    /// the memory is reused by the next request.
    static func forServer() {
        #if canImport(Glibc)
        // `mallopt` is in <malloc.h>, which Swift's Glibc module does not import.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }  // RTLD_DEFAULT
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1, topPad: Int32 = -2, mmapThreshold: Int32 = -3  // M_* in <malloc.h>
        _ = mallopt(trimThreshold, 256 << 20)
        _ = mallopt(topPad, 64 << 20)
        _ = mallopt(mmapThreshold, 32 << 20)
        #endif
    }
}
