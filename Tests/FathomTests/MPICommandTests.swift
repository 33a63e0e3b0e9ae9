#if canImport(Glibc)
import Glibc
#endif
import Fathom
import Testing

/// The MPI launcher for the library the package was built with: MPICH's `mpiexec` by default,
/// Open MPI's `mpirun` (as root, more ranks than cores) when built with FATHOM_MPI=openmpi.
let mpiLauncher: [String] = getenv("FATHOM_MPI").map { String(cString: $0) } == "openmpi"
    ? ["mpirun.openmpi", "--allow-run-as-root", "--oversubscribe"] : ["mpiexec.mpich"]

/// Runs `ranks` copies of `.build/…/<tool> arguments` under the MPI launcher.
func runMPI(_ ranks: Int, _ tool: String, _ arguments: [String]) -> CommandResult {
    let launcher = mpiLauncher + ["-n", String(ranks), buildDirectory + "/" + tool]
    return runShell((launcher + arguments).map { "'\($0)'" }.joined(separator: " "))
}

/// Runs a shell command line, capturing both streams.
func runShell(_ command: String) -> CommandResult {
    let stamp = "\(getpid())-\(UInt64.random(in: 0..<UInt64.max))"
    let outPath = "/tmp/fathom-test-\(stamp).out", errPath = "/tmp/fathom-test-\(stamp).err"
    defer { unlink(outPath); unlink(errPath) }
    let status = system("env FATHOM_KERNEL_CACHE=/tmp/fathom-test-kernel-cache \(command) </dev/null >\(outPath) 2>\(errPath)")
    return CommandResult(status: Int32((status >> 8) & 0xFF), stdout: readText(outPath), stderr: readText(errPath))
}

/// `train signsgd` and `train sgd` as MPI jobs: the same parameters as the workers simulated in
/// one process, bit for bit; rank 0 alone reports; checkpoints move between the two; a rank
/// that dies or disagrees ends the job.
@Suite("train under mpirun (2 ranks)", .serialized)
struct MPICommandTests {
    static func dataFile() -> (directory: String, path: String) {
        let directory = temporaryDirectory()
        let path = directory + "/small.csv"
        writeText(path, TrainCommandTests.smallCSV())
        return (directory, path)
    }

    /// Parameters and every worker's transform state in `path`'s checkpoint.
    static func state(_ path: String) -> [Float]? {
        guard let checkpoint = try? Checkpoint.read(from: path) else { return nil }
        return checkpoint.parameters + checkpoint.optimizerState
    }

    @Test("mpirun -np 2 trains the parameters --workers does in one process, bit for bit",
          arguments: [
              ["signsgd", "--device", "cpu", "--vote", "majority", "--noise", "adaptive", "--partition", "by-class:5"],
              ["signsgd", "--device", "cpu", "--vote", "majority", "--tie", "random", "--workers", "4"],
              ["signsgd", "--device", "cpu", "--vote", "majority", "--tie", "plus", "--noise", "0.05"],
              ["signsgd", "--device", "cpu", "--vote", "median", "--noise", "adaptive", "--workers", "4"],
              ["signsgd", "--device", "cpu", "--vote", "majority", "--error-feedback", "--signum", "0.9"],
              ["signsgd", "--device", "cpu", "--vote", "mean"],
              ["signsgd", "--device", "cpu", "--vote", "mean", "--error-feedback", "--workers", "4"],
              ["signsgd", "--device", "opencl", "--vote", "majority", "--noise", "adaptive", "--partition", "by-class:5"],
              ["sgd", "--device", "cpu", "--optimizer", "adam"],
          ])
    func sameAsInProcess(_ flags: [String]) throws {
        let (directory, path) = Self.dataFile()
        let common = flags + ["--data", path, "--epochs", "3", "--batch-size", "8", "--model", "mlp:8", "--json"]
        let workers = flags.contains("--workers") ? [] : ["--workers", "2"]
        let single = run("train", common + workers + ["--checkpoint", directory + "/single.ckpt"])
        let ranks = runMPI(2, "train", common + ["--checkpoint", directory + "/ranks.ckpt"])
        #expect(single.status == 0, "\(single.stderr)")
        #expect(ranks.status == 0, "\(ranks.stderr)")
        let a = Self.state(directory + "/single.ckpt"), b = Self.state(directory + "/ranks.ckpt")
        #expect(a != nil && a == b, "\(flags): the replicas' parameters differ from the simulated workers'")
        #expect(finalValue(single.stdout, "test_loss") == finalValue(ranks.stdout, "test_loss"))
        // Rank 0 alone reports: one start and one final line.
        #expect(ranks.stdout.split(separator: "\n").filter { $0.contains("\"event\":\"final\"") }.count == 1)
        #expect(ranks.stdout.contains("\"ranks\":2"), "\(ranks.stdout)")
        if flags.contains("random") {
            // 4 workers on 2 ranks: a step sends, per rank, half of each of its 2 workers' sign
            // words and half of the voted words: c = ⌈⌈P/32⌉/2⌉ words, 3·c·4 bytes.
            let start = ranks.stdout.split(separator: "\n").first { $0.contains("\"event\":\"start\"") }.map(String.init) ?? ""
            let words = (Int(finalValue(start.replacing("\"event\":\"start\"", with: "\"event\":\"final\""),
                                        "parameters") ?? 0) + 31) / 32
            #expect(finalValue(ranks.stdout, "sent_bytes_per_step") == Double(3 * ((words + 1) / 2) * 4),
                    "\(ranks.stdout)")
        }
    }

    @Test("a checkpoint of simulated workers resumes under mpirun and continues exactly")
    func resumeAcrossLaunchers() throws {
        let (directory, path) = Self.dataFile()
        let common = ["signsgd", "--device", "cpu", "--data", path, "--batch-size", "8", "--model", "mlp:8",
                      "--error-feedback", "--signum", "0.5", "--noise", "adaptive", "--workers", "2", "--schedule", "constant",
                      "--optimizer", "sgd", "--lr", "0.01", "--json"]
        let straight = run("train", common + ["--epochs", "4", "--checkpoint", directory + "/straight.ckpt"])
        let first = run("train", common + ["--epochs", "2", "--checkpoint", directory + "/split.ckpt"])
        let resumed = runMPI(2, "train", common + ["--epochs", "4", "--resume", directory + "/split.ckpt",
                                                   "--checkpoint", directory + "/split.ckpt"])
        #expect(straight.status == 0 && first.status == 0, "\(first.stderr)")
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = Self.state(directory + "/straight.ckpt"), b = Self.state(directory + "/split.ckpt")
        #expect(a != nil && a == b)
    }

    @Test("ranks started with different seeds stop at once with one line each, exit 64")
    func configurationMismatch() {
        let (_, path) = Self.dataFile()
        let train = buildDirectory + "/train"
        let common = "signsgd --device cpu --data '\(path)' --epochs 2 --model mlp:8"
        let launch = mpiLauncher.joined(separator: " ")
        let result = runShell("\(launch) -n 1 '\(train)' \(common) --seed 1 : -n 1 '\(train)' \(common) --seed 2")
        #expect(result.status != 0)
        #expect(result.stderr.contains("rank 1's command line differs from rank 0's"), "\(result.stderr)")
    }

    @Test("a rank whose command line does not parse ends the job with its usage error, exit 64, no hang")
    func usageErrorOnOneRank() {
        let (_, path) = Self.dataFile()
        let train = buildDirectory + "/train"
        let common = "signsgd --device cpu --data '\(path)' --epochs 2 --model mlp:8"
        let launch = mpiLauncher.joined(separator: " ")
        let result = runShell("timeout 60 \(launch) -n 1 '\(train)' \(common) : -n 1 '\(train)' \(common) --tie coin")
        #expect(result.status == 64, "status \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("train: rank 1: Error: The value 'coin' is invalid for '--tie"), "\(result.stderr)")
    }

    @Test("killing one rank of two ends the job within 30 s, non-zero")
    func deadRank() throws {
        let directory = temporaryDirectory()
        // A name of its own (at most 15 characters, the kernel's process name), so the test finds
        // its ranks among other tests' processes.
        let name = "fr-\(getpid() % 1_000_000)"
        symlink(buildDirectory + "/train", directory + "/" + name)
        // The embedded MNIST-5k: an epoch takes a while, so the job is still running when killed.
        let launch = (mpiLauncher + ["-n", "2", directory + "/" + name, "signsgd", "--device", "cpu",
                                     "--epochs", "100000", "--model", "mlp:8"]).map { "'\($0)'" }.joined(separator: " ")
        let script = """
            (\(launch) >'\(directory)/out' 2>'\(directory)/err'; echo $? >'\(directory)/rc') &
            for i in $(seq 1 300); do grep -q 'epoch 2/' '\(directory)/out' 2>/dev/null && break; sleep 0.1; done
            for p in $(pgrep -x '\(name)'); do
              if tr '\\0' '\\n' </proc/$p/environ | grep -qE '^(PMI_RANK|OMPI_COMM_WORLD_RANK)=1$'; then kill -9 $p; fi
            done
            start=$(date +%s)
            while [ ! -f '\(directory)/rc' ] && [ $(( $(date +%s) - start )) -lt 60 ]; do sleep 0.2; done
            echo "$(( $(date +%s) - start ))"
            """
        writeText(directory + "/kill.sh", script)
        let result = runShell("bash '\(directory)/kill.sh'")
        let firstWord = { (text: String) in text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } }
        let seconds = firstWord(result.stdout) ?? -1
        let status = firstWord(readText(directory + "/rc")) ?? 0
        #expect(seconds >= 0 && seconds <= 30, "the job took \(seconds) s to end: \(result.stderr)")
        #expect(status != 0, "the job ended with status \(status)")
        // Nothing of the job is left behind (Open MPI's launcher can exit while the other rank
        // is still being reaped: allow it a few seconds).
        let left = runShell("for i in $(seq 1 50); do pgrep -x '\(name)' >/dev/null || exit 0; sleep 0.2; done; "
                            + "pgrep -a -x '\(name)'")
        #expect(left.stdout.isEmpty, "still running: \(left.stdout)")
    }
}
