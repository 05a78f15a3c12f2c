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
    static func apply() {
        #if canImport(Glibc)
        // `mallopt` is in <malloc.h>, which Swift's Glibc module leaves out; -3 is its
        // `M_MMAP_THRESHOLD`.
        typealias MallocOption = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: MallocOption.self)(-3, 128 * 1024)
        #endif
    }
}
