import ArgumentParser
import CommandLineSupport

/// `train`: one subcommand per training algorithm.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train models on the GPU (OpenCL) or the CPU (OpenBLAS).",
        subcommands: [SGD.self])
}

/// `train sgd`: non-private mini-batch training with any of the first-order optimizers.
struct SGD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgd",
        abstract: "Mini-batch training with SGD, momentum, Adam, AdamW, AMSGrad or RMSprop.")

    @OptionGroup var device: DeviceOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var training: TrainingOptions

    func run() throws {
        runReportingFailures(command: "train sgd") {
            try SupervisedRun(options: training, data: data, device: try device.open(), algorithm: "sgd").run()
        }
    }
}

Train.main()
