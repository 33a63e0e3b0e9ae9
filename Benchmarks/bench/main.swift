import ArgumentParser
import CommandLineSupport

/// `bench`: validated timings of kernels and training steps, backends side by side.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Validate, then time kernels and training steps on each backend.",
        subcommands: [MatmulBench.self, StepBench.self, DPBench.self, SignBench.self, AllreduceBench.self, KernelsBench.self, ZOBench.self, CompileBench.self])
}

CommandMain.run(Bench.self)
