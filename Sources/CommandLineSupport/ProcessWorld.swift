import Compute
import Distributed

/// The ranks this process trains with: MPI's world when an MPI launcher started it (`mpirun`,
/// `mpiexec`, `srun`), else the process alone. Joined once, on first use, which also shares
/// this machine's cores among its ranks (`CPUThreads`) before any device work.
public enum ProcessWorld {
    /// The communicator of the run.
    /// - Throws: `CommandFailure` (exit 69) when the launcher's MPI cannot be initialised.
    public static func communicator() throws -> any Communicator {
        guard let mpi else { return single }
        do {
            return try mpi.get()
        } catch {
            throw CommandFailure("cannot join the MPI job: \(error)", status: ExitStatus.unavailable)
        }
    }

    /// This process's index among the ranks on its machine (0 without MPI): the GPU it opens.
    public static var localRank: Int { joined?.localRank ?? 0 }

    /// Whether other ranks take part: an MPI world of more than one process.
    public static var isDistributed: Bool { (joined?.size ?? 1) > 1 }

    /// Ends the process's MPI at a normal exit (nothing without MPI).
    public static func finish() {
        try? joined?.finalize()
    }

    /// Stops every rank of an MPI job with `status`, after this rank has reported why; returns
    /// without MPI (the caller exits).
    static func abortJob(status: Int32) {
        guard let world = joined, world.size > 1 else { return }
        world.abort(code: status)
    }

    /// The MPI world, joined once (nil without a launcher).
    private static let mpi: Result<MPICommunicator, CommunicatorError>? = {
        guard MPICommunicator.isLaunchedByMPI else { return nil }
        do {
            let world = try MPICommunicator.world()
            CPUThreads.limit(to: max(1, CPUThreads.cores / world.localSize))
            return .success(world)
        } catch let error as CommunicatorError {
            return .failure(error)
        } catch {
            return .failure(.mpi(function: "MPI_Init_thread", code: -1, message: "\(error)"))
        }
    }()

    private static var joined: MPICommunicator? { try? mpi?.get() }

    private static let single = InProcessCommunicator.single()
}
