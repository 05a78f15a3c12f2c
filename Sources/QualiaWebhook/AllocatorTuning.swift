#if canImport(Glibc)
import Glibc
#endif

/// Process-wide settings of the C allocator, made once at start-up.
enum AllocatorTuning {
    /// Allocations of 128 KB and more get pages of their own, returned to the system when
    /// freed (glibc's starting threshold, fixed).
    ///
    /// glibc raises that threshold to the size of each large block freed, up to 32 MB, so
    /// after the first streamed listing its 256-400 KB chunks came from the per-thread heaps,
    /// which keep freed memory: 8 concurrent GETs of a 20 MB order peaked at 90 MB with the
    /// moving threshold and 68 MB with it fixed (`bench/run --listing-memory`).
    ///
    /// Fixing that threshold also fixes the trim threshold, glibc's 128 KB unless set: a
    /// thread heap whose free top passes it is handed back (`madvise`) and faulted in again
    /// by the next allocations. The SQLite writer, whose transactions grew with the reader's
    /// indexes and triggers (issue 11), did that on every commit: `madvise`, its TLB
    /// shootdowns and the page faults after it were a fifth of a POST benchmark's samples,
    /// and POST ran at 14% of `/health`. Up to 2 MB of free top is kept instead: 24-26%.
    static func apply() {
        #if canImport(Glibc)
        // `mallopt` is in <malloc.h>, which Swift's Glibc module leaves out; -3 is its
        // `M_MMAP_THRESHOLD`, -1 its `M_TRIM_THRESHOLD`.
        typealias MallocOption = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: MallocOption.self)
        _ = mallopt(-3, 128 * 1024)
        _ = mallopt(-1, 2 * 1024 * 1024)
        #endif
    }
}
