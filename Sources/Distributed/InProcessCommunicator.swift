#if canImport(Glibc)
import Glibc
#endif

/// Ranks that are threads of one process, exchanging through shared memory: the group a test
/// or a laptop uses for the same collectives `MPICommunicator` carries between processes, and,
/// with one rank (`single`), what a single-process run talks to. Every reduction visits the
/// ranks in order, so all ranks get the same bits.
public final class InProcessCommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public var size: Int { hub.size }
    public var transport: String { size == 1 ? "single process" : "in-process (\(size) threads)" }
    private let hub: Rendezvous

    /// A group of one rank: every collective is a copy.
    public static func single() -> InProcessCommunicator { group(size: 1)[0] }

    /// `size` communicators of one group, rank r at index r, each for its own thread.
    /// - Parameter timeout: how long a rank waits for the others at a collective before it
    ///   throws `CommunicatorError.groupBroken` (a rank that stopped taking part).
    public static func group(size: Int, timeout: Duration = .seconds(300)) -> [InProcessCommunicator] {
        precondition(size >= 1, "a group needs a rank")
        let hub = Rendezvous(size: size, timeout: timeout)
        return (0..<size).map { InProcessCommunicator(rank: $0, hub: hub) }
    }

    private init(rank: Int, hub: Rendezvous) {
        self.rank = rank
        self.hub = hub
    }

    public func barrier() throws { _ = try hub.meet(rank: rank, posting: nil) }

    public func allReduce(_ values: UnsafeMutableBufferPointer<Float>, _ op: ReductionOperator) throws {
        try reduce(values, op)
    }

    public func allReduce(_ values: UnsafeMutableBufferPointer<Double>, _ op: ReductionOperator) throws {
        try reduce(values, op)
    }

    public func allGather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws {
        precondition(receive.count == send.count * size, "all-gather: the receive buffer must hold every rank's bytes")
        let posted = try hub.meet(rank: rank, posting: UnsafeRawPointer(send.baseAddress), bytes: send.count)
        if let target = receive.baseAddress, !send.isEmpty {
            for (q, source) in posted.enumerated() {
                guard let source else { preconditionFailure("rank \(q) sent no bytes") }
                (target + q * send.count).copyMemory(from: source, byteCount: send.count)
            }
        }
        _ = try hub.meet(rank: rank, posting: nil)
    }

    public func allToAll(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws {
        precondition(send.count % size == 0 && receive.count == send.count, "all-to-all: blocks of unequal size")
        let block = send.count / size
        let posted = try hub.meet(rank: rank, posting: UnsafeRawPointer(send.baseAddress), bytes: send.count)
        if let target = receive.baseAddress, block > 0 {
            for (q, source) in posted.enumerated() {
                guard let source else { preconditionFailure("rank \(q) sent no bytes") }
                (target + q * block).copyMemory(from: source + rank * block, byteCount: block)
            }
        }
        _ = try hub.meet(rank: rank, posting: nil)
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        precondition(root >= 0 && root < size, "broadcast from rank \(root) of \(size)")
        let posted = try hub.meet(rank: rank, posting: UnsafeRawPointer(buffer.baseAddress), bytes: buffer.count)
        if rank != root, let target = buffer.baseAddress, let source = posted[root] {
            target.copyMemory(from: source, byteCount: buffer.count)
        }
        _ = try hub.meet(rank: rank, posting: nil)
    }

    private func reduce<T: FloatingPoint>(_ values: UnsafeMutableBufferPointer<T>, _ op: ReductionOperator) throws {
        let posted = try hub.meet(rank: rank, posting: UnsafeRawPointer(values.baseAddress),
                                  bytes: values.count * MemoryLayout<T>.stride)
        var result = [T](repeating: 0, count: values.count)
        if !values.isEmpty {
            for (q, source) in posted.enumerated() {
                guard let source else { preconditionFailure("rank \(q) sent no values") }
                let other = source.assumingMemoryBound(to: T.self)
                for i in 0..<values.count {
                    let v = other[i]
                    switch op {
                    case .sum: result[i] = q == 0 ? v : result[i] + v
                    case .maximum: result[i] = q == 0 ? v : max(result[i], v)
                    case .minimum: result[i] = q == 0 ? v : min(result[i], v)
                    }
                }
            }
        }
        // Every rank has read every other's values before any overwrites its own.
        _ = try hub.meet(rank: rank, posting: nil)
        for i in 0..<values.count { values[i] = result[i] }
    }
}

/// Where the threads of an in-process group meet: each posts a pointer and a byte count, and all
/// get every rank's once the last arrives (a generation-counted barrier). A rank that times out
/// breaks the group for good: every rank's next meeting throws, so no rank reads a buffer whose
/// owner has given up.
private final class Rendezvous: @unchecked Sendable {
    let size: Int
    private let timeout: Duration
    // Heap cells: pthread objects must not move, and Swift guarantees no address for a stored property.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var posted: [(pointer: UnsafeRawPointer?, bytes: Int)]
    private var arrived = 0
    private var generation = 0
    private var broken = false
    private var snapshot: [(pointer: UnsafeRawPointer?, bytes: Int)] = []

    init(size: Int, timeout: Duration) {
        self.size = size
        self.timeout = timeout
        posted = Array(repeating: (nil, 0), count: size)
        pthread_mutex_init(mutex, nil)
        // Deadlines on the monotonic clock: a wall-clock change must not end or stretch a wait.
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Posts `pointer` (`bytes` long) for `rank` and returns every rank's once all have arrived.
    /// Every rank of a collective must post the same byte count (a programmer error otherwise).
    func meet(rank: Int, posting pointer: UnsafeRawPointer?, bytes: Int = 0) throws -> [UnsafeRawPointer?] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if broken { throw CommunicatorError.groupBroken("rank \(rank) found the group broken by an earlier timeout") }
        posted[rank] = (pointer, bytes)
        arrived += 1
        let mine = generation
        if arrived == size {
            precondition(posted.allSatisfy { $0.bytes == bytes }, "the ranks of a collective passed different sizes")
            snapshot = posted
            arrived = 0
            generation += 1
            pthread_cond_broadcast(condition)
            return snapshot.map(\.pointer)
        }
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = Int(deadline.tv_nsec) + Int(attoseconds / 1_000_000_000)
        deadline.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        while generation == mine && !broken {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT && generation == mine {
                broken = true
                pthread_cond_broadcast(condition)
                throw CommunicatorError.groupBroken("rank \(rank) waited \(timeout) for the others at a collective")
            }
        }
        if generation == mine { throw CommunicatorError.groupBroken("rank \(rank): another rank timed out") }
        return snapshot.map(\.pointer)
    }
}
