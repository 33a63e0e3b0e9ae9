/// The bytes of a device's live buffers and their high-water mark, counted at allocation and at
/// release (pool-cached memory a kernel runtime keeps for reuse is not live). What `bench dp`
/// reports as peak memory: a per-sample gradient that is materialised shows up here.
public final class MemoryUsage: @unchecked Sendable {
    private let lock = Lock()
    private var live = 0, peak = 0

    public init() {}

    /// Bytes of buffers alive now.
    public var liveBytes: Int { lock.withLock { live } }
    /// The most bytes alive at once since the last `resetPeak()`.
    public var peakBytes: Int { lock.withLock { peak } }

    /// Starts a new high-water mark from what is alive now.
    public func resetPeak() { lock.withLock { peak = live } }

    func allocated(_ bytes: Int) {
        lock.withLock {
            live += bytes
            peak = max(peak, live)
        }
    }

    func released(_ bytes: Int) { lock.withLock { live -= bytes } }
}
