import ArgumentParser
import Datasets
import Training

extension OptimizerKind: ExpressibleByArgument {}

/// `--batch-size N` or `--batch-size full`.
public enum BatchSize: Sendable, Hashable, ExpressibleByArgument, CustomStringConvertible {
    /// N rows per step.
    case rows(Int)
    /// The whole (partition of the) training set every step.
    case full

    public init?(argument: String) {
        if argument == "full" {
            self = .full
        } else if let rows = Int(argument) {
            self = .rows(rows)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .rows(let rows): return String(rows)
        case .full: return "full"
        }
    }

    /// The rows a step takes from `available` rows.
    public func rows(of available: Int) -> Int {
        switch self {
        case .rows(let rows): return rows
        case .full: return max(available, 1)
        }
    }
}

/// How a training step chooses its rows (`--sampling`).
public enum SamplingMode: String, CaseIterable, Sendable, ExpressibleByArgument {
    /// Fixed-size batches of one shuffle per epoch.
    case shuffle
    /// Each row joins each batch independently with q = batch size / rows (DP-SGD's sampling).
    case poisson
}

/// Model, optimisation and output options shared by the `train` subcommands.
public struct TrainingOptions: ParsableArguments {
    /// The model spec as typed (nil for the algorithm's default); `validate()` checks it parses.
    @Option(help: "Model: logreg, mlp:W1,W2,... (ReLU hidden layers) or cnn (the TF Privacy / Opacus MNIST convnet). Default mlp:512,256 (train zo: mlp:64).")
    public var model: String?

    /// Epochs of the whole run, counting those of a resumed checkpoint; nil for the algorithm's default.
    @Option(help: "Epochs to train (in total, counting those of a resumed checkpoint). Default 20 (train zo: 100).")
    public var epochs: Int?

    /// Samples per optimizer step (per worker), or `full`.
    @Option(help: "Mini-batch size (per worker), or full: every step takes each worker's whole partition (one step per epoch).")
    public var batchSize: BatchSize = .rows(64)

    /// The base learning rate, before the schedule; nil for the algorithm's default.
    @Option(help: "Base learning rate. Default 0.1 (train zo: 0.002 for zo-sgd, 0.001 for zo-sign and zo-adamm).")
    public var lr: Float?

    /// The update rule as typed; nil for the algorithm's default.
    @Option(help: "Update rule: sgd, momentum, adam, adamw, amsgrad or rmsprop (default momentum); train zo: zo-sgd (default), zo-sign or zo-adamm.")
    public var optimizer: String?

    /// The momentum coefficient; nil for the kind's default.
    @Option(help: "Momentum coefficient (default 0.9 for --optimizer momentum, else 0).")
    public var momentum: Float?

    /// Nesterov momentum; `validate()` allows it only for SGD with momentum.
    @Flag(help: "Nesterov momentum (SGD).")
    public var nesterov = false

    /// The weight decay; nil for 5e-4, or AdamW's own default of 0.01 (train zo: 0).
    @Option(help: "Weight decay: L2 for SGD/Adam/RMSprop (default 5e-4), decoupled for AdamW (default 0.01); train zo: MeZO's θ ← (1 − ηλ)θ (default 0).")
    public var weightDecay: Float?

    /// The learning-rate schedule as typed; `validate()` checks it parses.
    @Option(help: "Learning-rate schedule: constant, step:EPOCHS:GAMMA, cosine or linear.")
    public var schedule: String = "cosine"

    /// Shuffled fixed-size batches or Poisson sampling; nil for the algorithm's default.
    @Option(help: "Batch sampling: shuffle (fixed-size batches, one shuffle per epoch) or poisson (each row joins a batch with probability q = batch size / rows; an epoch is 1/q steps; the sampling DP-SGD assumes). Default: shuffle for sgd, poisson for dp-sgd.")
    public var sampling: SamplingMode?

    /// The largest physical batch; a larger logical batch runs in chunks whose gradients add up.
    @Option(help: "Largest physical batch: a larger logical batch (e.g. a Poisson batch) runs in chunks of at most M rows whose gradients add up, one update per logical batch; memory is sized by M.")
    public var maxPhysicalBatch: Int?

    /// Data-parallel workers of the run, as typed (nil: one per MPI rank, or 1 alone).
    @Option(help: "Data-parallel workers, each with its own sampler over its partition; their gradients are averaged (synchronous data-parallel SGD) or voted (signsgd). --batch-size is per worker. Without MPI they are simulated in this process; under mpirun the default is one per rank, and a multiple of the rank count puts that many on each.")
    public var workers: Int?

    /// The run's workers on `ranks` MPI ranks: `--workers`, else one per rank.
    public func workerCount(ranks: Int) -> Int { workers ?? ranks }

    /// How the training rows are divided among the workers, as typed.
    @Option(help: "Partition of the training rows among workers: iid, by-class:K or dirichlet:ALPHA.")
    public var partition: String = "iid"

    /// `--seed` as given; nil when it was not.
    @Option(name: .customLong("seed"), help: "Seed for initialisation, shuffling and the train/test split (default 1).")
    public var seedOption: UInt64?

    /// One seed for initialisation, shuffling and the train/test split.
    public var seed: UInt64 { seedOption ?? 1 }

    /// Print JSON lines (`start`, one per epoch, `final`) instead of text.
    @Flag(help: "Print one JSON object per line instead of text.")
    public var json = false

    /// A file the JSON lines are also appended to; truncated first unless resuming.
    @Option(help: "Also append JSON metrics lines to this file.")
    public var metrics: String?

    /// An SVG file for the learning curves, written at the end (and after a divergence).
    @Option(help: "Write an SVG plot of loss and accuracy per epoch to this file.")
    public var plot: String?

    /// A checkpoint file, rewritten atomically after every epoch.
    @Option(help: "Write a checkpoint to this file after every epoch (atomically).")
    public var checkpoint: String?

    /// A checkpoint to continue from.
    @Option(help: "Resume from this checkpoint.")
    public var resume: String?

    /// Options with their defaults, as the argument parser requires.
    public init() {}

    /// Checks ranges and combinations the parser cannot: sizes, rates, Nesterov without
    /// momentum, and that the schedule and model spec parse.
    /// - Throws: `ValidationError` naming the bad option.
    public func validate() throws {
        if let epochs, !(epochs >= 0 && epochs <= 1_000_000) { throw ValidationError("--epochs must be in 0...1000000") }
        if let optimizer, OptimizerKind(rawValue: optimizer) == nil && !AlgorithmDefaults.zerothOrderRules.contains(optimizer) {
            throw ValidationError("--optimizer must be one of "
                                  + (OptimizerKind.allCases.map(\.rawValue) + AlgorithmDefaults.zerothOrderRules)
                                    .joined(separator: ", ") + ", not '\(optimizer)'")
        }
        if case .rows(let rows) = batchSize, !(rows > 0 && rows < 1 << 24) {
            throw ValidationError("--batch-size must be in 1...\((1 << 24) - 1) or full")
        }
        if let lr, !(lr >= 0 && lr.isFinite) { throw ValidationError("--lr must be a non-negative number") }
        if let momentum, !(momentum >= 0 && momentum < 1) { throw ValidationError("--momentum must be in [0, 1)") }
        if let weightDecay, !(weightDecay >= 0 && weightDecay.isFinite) {
            throw ValidationError("--weight-decay must be non-negative")
        }
        if nesterov && (![.sgd, .momentum].contains(optimizerConfig(.firstOrder).kind)
                        || optimizerConfig(.firstOrder).effectiveMomentum == 0) {
            throw ValidationError("--nesterov needs SGD with momentum (--optimizer momentum, or sgd with --momentum M)")
        }
        guard LearningRateSchedule(argument: schedule) != nil else {
            throw ValidationError("--schedule must be constant, step:EPOCHS:GAMMA, cosine or linear, not '\(schedule)'")
        }
        if let model { do { _ = try ModelSpec(parsing: model) } catch { throw ValidationError(error.description) } }
        if let maxPhysicalBatch, !(maxPhysicalBatch > 0 && maxPhysicalBatch < 1 << 24) {
            throw ValidationError("--max-physical-batch must be in 1...\((1 << 24) - 1)")
        }
        if let workers, !(workers >= 1 && workers <= 4096) { throw ValidationError("--workers must be in 1...4096") }
        guard partitioning != nil else {
            throw ValidationError("--partition must be iid, by-class:K or dirichlet:ALPHA, not '\(partition)'")
        }
    }

    /// The parsed `--partition`; nil when it does not parse.
    public var partitioning: Partitioning? { Partitioning(argument: partition) }

    /// The update rule's name in force: `--optimizer`, else the algorithm's default.
    public func optimizerName(_ defaults: AlgorithmDefaults) -> String { optimizer ?? defaults.optimizer }

    /// The learning rate in force.
    public func learningRate(_ defaults: AlgorithmDefaults) -> Float {
        lr ?? defaults.learningRate(optimizerName(defaults))
    }

    /// The epochs in force.
    public func epochCount(_ defaults: AlgorithmDefaults) -> Int { epochs ?? defaults.epochs }

    /// The model spec in force, as typed.
    public func modelSpec(_ defaults: AlgorithmDefaults) -> String { model ?? defaults.model }

    /// The first-order optimizer these options describe, with weight decay 5e-4 unless given
    /// (AdamW: 0.01). A zeroth-order rule, which updates the parameters itself, gives plain SGD
    /// at its learning rate (the trainer's optimizer then keeps no state and never runs).
    public func optimizerConfig(_ defaults: AlgorithmDefaults) -> OptimizerConfig {
        // 5e-4 for the SGD family is what makes the defaults reach 94% on MNIST-5k; AdamW keeps
        // PyTorch's 0.01, which the library applies when none is given.
        let kind = OptimizerKind(rawValue: optimizerName(defaults)) ?? .sgd
        return OptimizerConfig(kind: kind, learningRate: learningRate(defaults), momentum: momentum, nesterov: nesterov,
                               weightDecay: weightDecay ?? (kind == .adamw ? nil : defaults.weightDecay))
    }

    /// The trainer settings these options describe; call after `validate()`.
    public func trainingConfig(_ defaults: AlgorithmDefaults) -> TrainingConfig {
        // A full batch is sized by the data when the samplers are built; the trainer's own default
        // sampler (unused then) gets the largest batch the options allow.
        TrainingConfig(epochs: epochCount(defaults), batchSize: batchSize.rows(of: (1 << 24) - 1), seed: seed,
                       optimizer: optimizerConfig(defaults),
                       schedule: LearningRateSchedule(argument: schedule) ?? .constant)
    }
}

/// The defaults of the options an algorithm sets differently: zeroth-order training learns from
/// function values alone and needs more, smaller steps than back-propagation.
public struct AlgorithmDefaults: Sendable {
    /// The model without `--model`.
    public var model: String
    /// The update rule without `--optimizer`.
    public var optimizer: String
    /// The names `--optimizer` may take for this algorithm.
    public var optimizers: [String]
    /// Weight decay without `--weight-decay` (AdamW keeps its own 0.01).
    public var weightDecay: Float
    /// Epochs without `--epochs`.
    public var epochs: Int
    /// The learning rate of each rule without `--lr`.
    public var learningRate: @Sendable (String) -> Float

    /// The zeroth-order rules' names.
    public static let zerothOrderRules = ["zo-sgd", "zo-sign", "zo-adamm"]

    /// Back-propagation's: SGD with momentum 0.9 at 0.1, weight decay 5e-4, 20 epochs.
    public static let firstOrder = AlgorithmDefaults(
        model: "mlp:512,256", optimizer: OptimizerKind.momentum.rawValue, optimizers: OptimizerKind.allCases.map(\.rawValue),
        weightDecay: 5e-4, epochs: 20, learningRate: { _ in 0.1 })

    /// `train zo`'s: mlp:64 by ZO-SGD at 0.002, no weight decay, 100 epochs (78.8% on the
    /// embedded MNIST-5k; a 535,818-parameter mlp:512,256 learns far more slowly from function
    /// values, as the d/q variance of the estimate predicts).
    public static let zerothOrder = AlgorithmDefaults(
        model: "mlp:64", optimizer: "zo-sgd", optimizers: zerothOrderRules, weightDecay: 0, epochs: 100,
        learningRate: { $0 == "zo-sgd" ? 0.002 : 0.001 })
}
