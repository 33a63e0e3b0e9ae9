import CBLAS
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The threads the CPU device runs on: OpenBLAS's and the parallel loops' of the other
/// operations. All cores by default; several MPI ranks on one machine share them out (each
/// rank's spinning OpenBLAS threads would otherwise take the cores the others compute on).
public enum CPUThreads {
    /// The machine's online cores.
    public static var cores: Int {
        #if canImport(Glibc)
        return max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1)
        #else
        return 1
        #endif
    }

    /// Threads the parallel loops split work into.
    public static var count: Int { loopThreads.load(ordering: .relaxed) }

    /// Runs the CPU device on `threads` threads from now on (OpenBLAS and the loops); call it
    /// before the device's first operation. `OPENBLAS_NUM_THREADS`, when set, still decides
    /// OpenBLAS's count.
    public static func limit(to threads: Int) {
        precondition(threads >= 1, "at least one thread")
        loopThreads.store(threads, ordering: .relaxed)
        if getenv("OPENBLAS_NUM_THREADS") == nil { openblas_set_num_threads(Int32(threads)) }
    }
}

private let loopThreads = Atomic<Int>(CPUThreads.cores)
