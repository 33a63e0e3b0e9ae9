import COpenCL

/// Keeps released `cl_mem` objects by size for reuse, since allocation on a GPU costs far more
/// than a training step's worth of small kernels (tinygrad's LRU allocator does the same).
final class OpenCLBufferPool: @unchecked Sendable {
    private let lock = Lock()
    private var free: [Int: [cl_mem]] = [:]
    private var cachedBytes = 0
    /// Beyond this many cached bytes released buffers go back to the driver.
    private let limitBytes: Int

    init(limitBytes: Int) {
        self.limitBytes = limitBytes
    }

    deinit { drain() }

    /// A cached buffer of exactly `count` floats, if one is free.
    func take(count: Int) -> cl_mem? {
        lock.withLock {
            guard var list = free[count], let memory = list.popLast() else { return nil }
            free[count] = list
            cachedBytes -= count * 4
            return memory
        }
    }

    func recycle(_ memory: cl_mem, count: Int) {
        let kept = lock.withLock { () -> Bool in
            guard cachedBytes + count * 4 <= limitBytes else { return false }
            free[count, default: []].append(memory)
            cachedBytes += count * 4
            return true
        }
        if !kept { clReleaseMemObject(memory) }
    }

    /// Releases every cached buffer (before retrying an allocation that ran out of memory).
    func drain() {
        let all = lock.withLock { () -> [cl_mem] in
            let all = free.values.flatMap { $0 }
            free = [:]
            cachedBytes = 0
            return all
        }
        for memory in all { clReleaseMemObject(memory) }
    }
}
