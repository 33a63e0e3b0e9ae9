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
        let posted = try hub.meet(rank: rank, posting: UnsafeRawPointer(send.baseAddress))
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
        let posted = try hub.meet(rank: rank, posting: UnsafeRawPointer(send.baseAddress))
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
        let posted = try hub.meet(rank: rank, posting: UnsafeRawPointer(buffer.baseAddress))
        if rank != root, let target = buffer.baseAddress, let source = posted[root] {
            target.copyMemory(from: source, byteCount: buffer.count)
        }
        _ = try hub.meet(rank: rank, posting: nil)
    }

    private func reduce<T: FloatingPoint>(_ values: UnsafeMutableBufferPointer<T>, _ op: ReductionOperator) throws {
        let posted = try hub.meet(rank: rank, posting: UnsafeRawPointer(values.baseAddress))
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

/// Where the threads of an in-process group meet: each posts a pointer, and all get every
/// rank's pointer once the last arrives (a generation-counted barrier).
private final class Rendezvous: @unchecked Sendable {
    let size: Int
    private let timeout: Duration
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var posted: [UnsafeRawPointer?]
    private var arrived = 0
    private var generation = 0
    private var snapshot: [UnsafeRawPointer?] = []

    init(size: Int, timeout: Duration) {
        self.size = size
        self.timeout = timeout
        posted = [UnsafeRawPointer?](repeating: nil, count: size)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Posts `pointer` for `rank` and returns every rank's once all have arrived.
    func meet(rank: Int, posting pointer: UnsafeRawPointer?) throws -> [UnsafeRawPointer?] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        posted[rank] = pointer
        arrived += 1
        let mine = generation
        if arrived == size {
            snapshot = posted
            arrived = 0
            generation += 1
            pthread_cond_broadcast(&condition)
            return snapshot
        }
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = Int(deadline.tv_nsec) + Int(attoseconds / 1_000_000_000)
        deadline.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        while generation == mine {
            if pthread_cond_timedwait(&condition, &mutex, &deadline) == ETIMEDOUT && generation == mine {
                throw CommunicatorError.groupBroken("rank \(rank) waited \(timeout) for the others at a collective")
            }
        }
        return snapshot
    }
}
