import ArgumentParser
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// How a command wants the C allocator set before it runs. A command says so by adopting
/// ``ChoosesAllocatorProfile``; every other command gets ``oneHeap``.
enum AllocatorProfile {
    /// One heap for all the command's threads (``AllocatorTuning/forCommand()``).
    case oneHeap
    /// A heap per thread, kept while the command runs (``AllocatorTuning/forWorkAcrossCores()``).
    case heapPerThread
    /// Left alone at start: the command sets it itself (`edt central serve`, once its storage
    /// is open, ``AllocatorTuning/forServer()``).
    case setByTheCommand

    /// The profile of `command`: its own when its type chooses one, else ``oneHeap``.
    static func of(_ command: any ParsableCommand) -> AllocatorProfile {
        (type(of: command) as? any ChoosesAllocatorProfile.Type)?.allocatorProfile ?? .oneHeap
    }

    /// Sets the process's allocator to this profile.
    func apply() {
        switch self {
        case .oneHeap: AllocatorTuning.forCommand()
        case .heapPerThread: AllocatorTuning.forWorkAcrossCores()
        case .setByTheCommand: break
        }
    }
}

/// A command whose allocator profile is not the default one heap.
protocol ChoosesAllocatorProfile {
    static var allocatorProfile: AllocatorProfile { get }
}

/// Process-wide settings of the C allocator: one set for the long-running central endpoint, one
/// for a command that works across the cores, one for the other short commands.
enum AllocatorTuning {
    /// A push of thousands of ~4 KB records allocates and frees tens of megabytes per second
    /// on several threads. With glibc's defaults each thread's heap is given back to the
    /// kernel as soon as it shrinks and taken again a moment later (an `mprotect` and fresh
    /// zeroed pages each time), which cost the endpoint about a tenth of its CPU. Keeping up to
    /// 256 MiB of freed memory per heap, and growing heaps 64 MiB at a time, stops that churn;
    /// the memory is reused by the next request.
    static func forServer() {
        set(Option.trimThreshold, 256 << 20)
        set(Option.topPad, 64 << 20)
        set(Option.mmapThreshold, 32 << 20)
    }

    /// A laptop command runs on Swift's cooperative threads (the commands are async), not on the
    /// main thread, so glibc gives its allocations a heap of their own, grown 64 MiB at a time
    /// by `mprotect`: opening a store of 50,000 referrals took a tenth longer than on the main
    /// thread's heap. A command does its work one step at a time, so one heap for all its
    /// threads costs it nothing and removes that.
    ///
    /// Opening a store derives its key with scrypt, which takes 32 MiB and writes zeros over
    /// it first: on 4 KiB pages that is 8,192 page faults, about a fifth of a short command's
    /// time. So the heap is made ready for it: grown once by ``keyDerivationReserve``, marked
    /// for huge pages (the kernel then faults 2 MiB at a time), and freed, with the heap kept
    /// (`M_TRIM_THRESHOLD`) and blocks up to 32 MiB taken from it rather than mapped apart
    /// (`M_MMAP_THRESHOLD`), so that scrypt's block, and the command's other large ones after
    /// it, come from that memory. Where huge pages are not to be had, this costs nothing.
    static func forCommand() {
        set(Option.arenaMaximum, 1)
        set(Option.trimThreshold, Int32(2 * keyDerivationReserve))
        set(Option.mmapThreshold, 32 << 20)
        reserveHugePageHeap(bytes: keyDerivationReserve)
    }

    /// What the heap is grown by for a store's key derivation: scrypt's block
    /// (``keyDerivationBytes``) and 8 MiB of room for the rest.
    static let keyDerivationReserve = keyDerivationBytes + (8 << 20)

    /// scrypt's block at the kept strength (128 · r · N bytes, r = 8, N = 2^15).
    static let keyDerivationBytes = 32 << 20

    /// Grows the heap by `bytes` (taken from the heap, not mapped apart, this once), asks the
    /// kernel to back it with huge pages, and frees it to the heap's top for what comes next.
    private static func reserveHugePageHeap(bytes: Int) {
        #if canImport(Glibc)
        set(Option.mmapMaximum, 0)
        defer { set(Option.mmapMaximum, 65_536) }  // glibc's default
        guard let block = malloc(bytes) else { return }
        let hugePage = UInt(2 << 20)
        let start = (UInt(bitPattern: block) + hugePage - 1) & ~(hugePage - 1)
        let end = (UInt(bitPattern: block) + UInt(bytes)) & ~(hugePage - 1)
        if end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) {
            _ = madvise(aligned, Int(end - start), 14)  // MADV_HUGEPAGE; refused harmlessly where unsupported
        }
        free(block)
        if end > start { populateInBackground(from: start, to: min(end, start + UInt(keyDerivationBytes))) }
        #endif
    }

    /// Has the kernel back `[start, end)` with memory on a thread of its own while the command
    /// starts up, last pages first, so that scrypt finds its block ready or meets this thread
    /// half way. Backing a page costs far more than writing it: on a virtual machine whose host
    /// has taken back free memory, 32 MiB took from 2 to over 100 ms, paid before the first
    /// round of scrypt. `MADV_POPULATE_WRITE` (Linux 5.14) backs pages as a write would without
    /// writing anything, so it is safe on memory the allocator may hand out meanwhile; where it
    /// is not known it fails and nothing is done.
    private static func populateInBackground(from start: UInt, to end: UInt) {
        #if canImport(Glibc)
        DispatchQueue.global(qos: .userInitiated).async {
            let chunk = UInt(2 << 20)
            var upper = end
            while upper > start {
                let lower = upper - min(chunk, upper - start)
                guard let pointer = UnsafeMutableRawPointer(bitPattern: lower),
                    madvise(pointer, Int(upper - lower), 23) == 0  // MADV_POPULATE_WRITE
                else { return }
                upper = lower
            }
        }
        #endif
    }

    /// A command that does its work across the cores (`edt central handover` reads, builds and
    /// writes a package's cases side by side, SplitWork) needs a heap per thread: on one heap its
    /// threads wait on each other's allocations, and 10,000 cases took a fifth longer than
    /// with glibc's defaults. Those heaps are grown 64 MiB at a time and kept while the command
    /// runs, as the endpoint's are, so they are not given back and taken again along the way.
    static func forWorkAcrossCores() {
        set(Option.trimThreshold, 256 << 20)
        set(Option.topPad, 64 << 20)
    }

    /// `M_*` of <malloc.h>, which Swift's Glibc module does not import.
    private enum Option {
        static let trimThreshold: Int32 = -1
        static let topPad: Int32 = -2
        static let mmapThreshold: Int32 = -3
        static let mmapMaximum: Int32 = -4
        static let arenaMaximum: Int32 = -8
    }

    private static func set(_ option: Int32, _ value: Int32) {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        // RTLD_DEFAULT: `mallopt` is found wherever the process has it (glibc).
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(option, value)
        #endif
    }
}
