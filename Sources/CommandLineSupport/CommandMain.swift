import ArgumentParser
import Distributed
#if canImport(Glibc)
import Glibc
#endif

/// The entry point of the commands that run under MPI (`train`, `bench`): joins the MPI job
/// before parsing when a launcher started the process, so that a rank whose command line does
/// not parse (MPMD jobs can give ranks different arguments) ends the whole job with its one
/// line instead of leaving the others waiting in `MPI_Init` forever. Alone it is
/// `Command.main()`.
public enum CommandMain {
    /// Parses the process's arguments as `command`, runs it and exits: 0 after a run, the
    /// parse error's status otherwise (under MPI, for every rank of the job).
    public static func run<Command: ParsableCommand>(_ command: Command.Type) -> Never {
        let name = Command.configuration.commandName ?? "fathom"
        let world: any Communicator
        do {
            world = try ProcessWorld.communicator()
        } catch {
            let failure = CommandFailure.from(error)
            Console.error("\(name): \(failure.message)")
            exit(failure.status)
        }
        do {
            var parsed = try Command.parseAsRoot()
            try parsed.run()
            ProcessWorld.finish()
            exit(0)
        } catch {
            guard world.size > 1 else { Command.exit(withError: error) }
            // Help asked of every rank prints once; a usage error names its rank.
            let status = Command.exitCode(for: error).rawValue, message = Command.fullMessage(for: error)
            if status == 0 {
                if world.rank == 0 { Console.line(message) }
            } else {
                Console.error("\(name): rank \(world.rank): \(message)")
            }
            ProcessWorld.abortJob(status: status)
            exit(status)
        }
    }
}
