import Compute
import Distributed

/// The ranks this process trains with: MPI's world when an MPI launcher started it (`mpirun`,
/// `mpiexec`, `srun`), else the process alone. Joined once, on first use.
public enum ProcessWorld {
    /// The communicator of the run. Joining an MPI world shares this machine's cores among its
    /// ranks here (`CPUThreads`), before any device work.
    /// - Throws: `CommandFailure` (exit 69) when the launcher's MPI cannot be initialised.
    public static func communicator() throws -> any Communicator {
        guard MPICommunicator.isLaunchedByMPI else { return single }
        do {
            let world = try MPICommunicator.world()
            CPUThreads.limit(to: max(1, CPUThreads.cores / world.localSize))
            return world
        } catch {
            throw CommandFailure("cannot join the MPI job: \(error)", status: ExitStatus.unavailable)
        }
    }

    /// This process's index among the ranks on its machine (0 without MPI): the GPU it opens.
    public static var localRank: Int {
        guard MPICommunicator.isLaunchedByMPI, let world = try? MPICommunicator.world() else { return 0 }
        return world.localRank
    }

    /// Whether other ranks take part: an MPI world of more than one process.
    public static var isDistributed: Bool {
        guard MPICommunicator.isLaunchedByMPI, let world = try? MPICommunicator.world() else { return false }
        return world.size > 1
    }

    /// Ends the process's MPI at a normal exit (nothing without MPI).
    public static func finish() {
        guard MPICommunicator.isLaunchedByMPI, let world = try? MPICommunicator.world() else { return }
        try? world.finalize()
    }

    /// Stops every rank of an MPI job with `status`, after this rank has reported why; returns
    /// without MPI (the caller exits).
    static func abortJob(status: Int32) {
        guard isDistributed, let world = try? MPICommunicator.world() else { return }
        world.abort(code: status)
    }

    private static let single = InProcessCommunicator.single()
}
