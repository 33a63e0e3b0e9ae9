/// Keeps released device memory by size for reuse, since allocation on a GPU costs far more than a
/// training step's worth of small kernels (tinygrad's LRU allocator does the same). Shared by
/// every kernel runtime: it only needs the runtime's `free`.
final class DeviceBufferPool: @unchecked Sendable {
    private let lock = Lock()
    private var free: [Int: [RawMemory]] = [:]
    private var cachedBytes = 0
    /// Beyond this many cached bytes released memory goes back to the driver.
    private let limitBytes: Int
    private let release: @Sendable (RawMemory) -> Void

    init(limitBytes: Int, release: @escaping @Sendable (RawMemory) -> Void) {
        self.limitBytes = limitBytes
        self.release = release
    }

    deinit { drain() }

    /// A cached block of exactly `bytes`, if one is free.
    func take(bytes: Int) -> RawMemory? {
        lock.withLock {
            guard var list = free[bytes], let memory = list.popLast() else { return nil }
            free[bytes] = list
            cachedBytes -= bytes
            return memory
        }
    }

    func recycle(_ memory: RawMemory, bytes: Int) {
        let kept = lock.withLock { () -> Bool in
            guard cachedBytes + bytes <= limitBytes else { return false }
            free[bytes, default: []].append(memory)
            cachedBytes += bytes
            return true
        }
        if !kept { release(memory) }
    }

    /// Releases every cached block (before retrying an allocation that ran out of memory).
    func drain() {
        let all = lock.withLock { () -> [RawMemory] in
            let all = free.values.flatMap { $0 }
            free = [:]
            cachedBytes = 0
            return all
        }
        for memory in all { release(memory) }
    }
}
