#if canImport(Glibc)
import Glibc
#endif
import MPIShim

/// The world of an `mpirun`/`mpiexec` job through Debian's MPI (MPICH by default, Open MPI
/// when built with `FATHOM_MPI=openmpi`): one process per rank, collectives on
/// `MPI_COMM_WORLD` with errors returned, not fatal. A rank that fails calls `abort`, which ends
/// every rank of the job, so no rank waits for a peer that is gone. Immutable after creation;
/// MPI is initialised funneled, so only the thread that trains may call it.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public let transport: String
    /// Ranks of the world on this rank's machine (this one included).
    public let localSize: Int
    /// This rank's index among them (0 ..< `localSize`): which of the machine's GPUs it takes.
    public let localRank: Int

    /// The world communicator; MPI is initialised on first use (once per process).
    /// - Throws: `CommunicatorError.mpi` when `MPI_Init_thread` fails.
    public static func world() throws -> MPICommunicator {
        if let shared = shared.value { return shared }
        var rank: Int32 = 0, size: Int32 = 0
        try check(fathom_mpi_init(&rank, &size), "MPI_Init_thread")
        var version = [CChar](repeating: 0, count: 256)
        fathom_mpi_library_version(&version, Int32(version.count))
        // "MPICH Version:\t4.0.2", "Open MPI v4.1.4, package: ...": the name and the version.
        let text = Self.string(version)
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).filter { $0 != "Version:" }
        var localRank: Int32 = 0, localSize: Int32 = 1
        try check(fathom_mpi_local(&localRank, &localSize), "MPI_Comm_split_type")
        let world = MPICommunicator(rank: Int(rank), size: Int(size), transport: words.prefix(3).joined(separator: " "),
                                    localRank: Int(localRank), localSize: Int(localSize))
        shared.value = world
        return world
    }

    /// Whether this process was started by an MPI launcher (MPICH's Hydra, Open MPI's mpirun,
    /// or a PMIx launcher such as Slurm's srun), so training should join its world.
    public static var isLaunchedByMPI: Bool {
        let launcherVariables = ["PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK"]
        return launcherVariables.contains { getenv($0) != nil }
    }

    private init(rank: Int, size: Int, transport: String, localRank: Int, localSize: Int) {
        self.rank = rank
        self.size = size
        self.transport = transport
        self.localRank = localRank
        self.localSize = localSize
    }

    /// Ends MPI in this process after every rank has arrived (call once, at a normal exit).
    public func finalize() throws {
        guard fathom_mpi_is_active() != 0 else { return }
        try Self.check(fathom_mpi_finalize(), "MPI_Finalize")
    }

    /// Ends every rank of the job with exit status `code` (MPI_Abort); does not return.
    public func abort(code: Int32) -> Never {
        // The launcher forwards a rank's output asynchronously and tears the job down at the
        // abort: a moment first, so the line saying why reaches the user.
        usleep(300_000)
        fathom_mpi_abort(code)
        exit(code)
    }

    public func barrier() throws { try Self.check(fathom_mpi_barrier(), "MPI_Barrier") }

    public func allReduce(_ values: UnsafeMutableBufferPointer<Float>, _ op: ReductionOperator) throws {
        guard let base = values.baseAddress, !values.isEmpty else { return }
        try Self.check(fathom_mpi_allreduce_float(base, try Self.count(values.count), op.rawValue), "MPI_Allreduce")
    }

    public func allReduce(_ values: UnsafeMutableBufferPointer<Double>, _ op: ReductionOperator) throws {
        guard let base = values.baseAddress, !values.isEmpty else { return }
        try Self.check(fathom_mpi_allreduce_double(base, try Self.count(values.count), op.rawValue), "MPI_Allreduce")
    }

    public func allGather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws {
        precondition(receive.count == send.count * size, "all-gather: the receive buffer must hold every rank's bytes")
        guard let source = send.baseAddress, let target = receive.baseAddress else { return }
        try Self.check(fathom_mpi_allgather(source, try Self.count(send.count), target), "MPI_Allgather")
    }

    public func allToAll(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws {
        precondition(send.count % size == 0 && receive.count == send.count, "all-to-all: blocks of unequal size")
        guard let source = send.baseAddress, let target = receive.baseAddress else { return }
        try Self.check(fathom_mpi_alltoall(source, try Self.count(send.count / size), target), "MPI_Alltoall")
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        precondition(root >= 0 && root < size, "broadcast from rank \(root) of \(size)")
        guard let base = buffer.baseAddress else { return }
        try Self.check(fathom_mpi_broadcast(base, try Self.count(buffer.count), Int32(root)), "MPI_Bcast")
    }

    /// MPI counts are C ints: a larger message (a run's settings can ask for one, e.g. the
    /// state of many workers of a large model) is refused with a typed error, not a trap.
    private static func count(_ n: Int) throws -> Int32 {
        guard n <= Int(Int32.max) else { throw CommunicatorError.messageTooLarge(elements: n) }
        return Int32(n)
    }

    private static func check(_ code: Int32, _ function: String) throws {
        guard code != 0 else { return }
        var text = [CChar](repeating: 0, count: 512)
        fathom_mpi_error_string(code, &text, Int32(text.count))
        throw CommunicatorError.mpi(function: function, code: code, message: string(text))
    }

    /// The NUL-terminated text a shim function wrote into `characters`.
    private static func string(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The process's world once initialised (MPI allows one MPI_Init per process).
    private static let shared = SharedWorld()
}

/// Holds the one world communicator of the process.
private final class SharedWorld: @unchecked Sendable {
    var value: MPICommunicator?
}
