import ArgumentParser
import Training

extension OptimizerKind: ExpressibleByArgument {}

/// Model, optimisation and output options shared by the `train` subcommands.
public struct TrainingOptions: ParsableArguments {
    @Option(help: "Model: logreg, mlp:W1,W2,... (ReLU hidden layers) or cnn (the TF Privacy / Opacus MNIST convnet).")
    public var model: String = "mlp:512,256"

    @Option(help: "Epochs to train (in total, counting those of a resumed checkpoint).")
    public var epochs: Int = 20

    @Option(help: "Mini-batch size.")
    public var batchSize: Int = 64

    @Option(help: "Base learning rate.")
    public var lr: Float = 0.1

    @Option(help: "Update rule: sgd, momentum, adam, adamw, amsgrad or rmsprop.")
    public var optimizer: OptimizerKind = .momentum

    @Option(help: "Momentum coefficient (default 0.9 for --optimizer momentum, else 0).")
    public var momentum: Float?

    @Flag(help: "Nesterov momentum (SGD).")
    public var nesterov = false

    @Option(help: "Weight decay (L2 for SGD/Adam/RMSprop, decoupled for AdamW).")
    public var weightDecay: Float = 5e-4

    @Option(help: "Learning-rate schedule: constant, step:EPOCHS:GAMMA, cosine or linear.")
    public var schedule: String = "cosine"

    @Option(help: "Seed for initialisation, shuffling and the train/test split.")
    public var seed: UInt64 = 1

    @Flag(help: "Print one JSON object per line instead of text.")
    public var json = false

    @Option(help: "Also append JSON metrics lines to this file.")
    public var metrics: String?

    @Option(help: "Write an SVG plot of loss and accuracy per epoch to this file.")
    public var plot: String?

    @Option(help: "Write a checkpoint to this file after every epoch (atomically).")
    public var checkpoint: String?

    @Option(help: "Resume from this checkpoint.")
    public var resume: String?

    public init() {}

    public func validate() throws {
        guard epochs >= 0 else { throw ValidationError("--epochs must be non-negative") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard lr >= 0 && lr.isFinite else { throw ValidationError("--lr must be a non-negative number") }
        if let momentum, !(momentum >= 0 && momentum < 1) { throw ValidationError("--momentum must be in [0, 1)") }
        guard weightDecay >= 0 && weightDecay.isFinite else { throw ValidationError("--weight-decay must be non-negative") }
        if nesterov && (momentum ?? (optimizer == .momentum ? 0.9 : 0)) == 0 {
            throw ValidationError("--nesterov needs momentum (--optimizer momentum or --momentum M)")
        }
        guard LearningRateSchedule(argument: schedule) != nil else {
            throw ValidationError("--schedule must be constant, step:EPOCHS:GAMMA, cosine or linear, not '\(schedule)'")
        }
        do { _ = try ModelSpec(parsing: model) } catch { throw ValidationError(error.description) }
    }

    public var optimizerConfig: OptimizerConfig {
        OptimizerConfig(kind: optimizer, learningRate: lr, momentum: momentum, nesterov: nesterov,
                        weightDecay: weightDecay)
    }

    public var trainingConfig: TrainingConfig {
        TrainingConfig(epochs: epochs, batchSize: batchSize, seed: seed, optimizer: optimizerConfig,
                       schedule: LearningRateSchedule(argument: schedule) ?? .constant)
    }
}
