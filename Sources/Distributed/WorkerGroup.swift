/// Where the workers of a run live: `workersPerRank` consecutive workers on each rank of
/// `communicator`, rank r holding workers r·workersPerRank ..< (r + 1)·workersPerRank. One
/// process simulating M workers is one rank holding M; `mpirun -np M` is M ranks holding one.
/// Every per-worker choice (noise streams, partitions, checkpointed state) uses the global
/// worker index, so the two give the same run.
public struct WorkerGroup {
    /// The ranks.
    public let communicator: any Communicator
    /// Workers on every rank.
    public let workersPerRank: Int

    /// `workersPerRank` workers (at least 1) on every rank of `communicator`.
    public init(communicator: any Communicator, workersPerRank: Int) {
        precondition(workersPerRank >= 1, "a rank holds at least one worker")
        self.communicator = communicator
        self.workersPerRank = workersPerRank
    }

    /// `workers` simulated in this process, no other rank.
    public static func local(workers: Int) -> WorkerGroup {
        WorkerGroup(communicator: InProcessCommunicator.single(), workersPerRank: workers)
    }

    /// Workers of the whole run.
    public var workers: Int { communicator.size * workersPerRank }
    /// The global index of this rank's first worker.
    public var firstWorker: Int { communicator.rank * workersPerRank }
    /// Whether other ranks take part (collectives then cross the communicator).
    public var isDistributed: Bool { communicator.size > 1 }
    /// Whether this rank prints and writes files for the run.
    public var isLeader: Bool { communicator.rank == 0 }
}
