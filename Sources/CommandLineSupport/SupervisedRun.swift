import Artifacts
import SystemIO
#if canImport(Glibc)
import Glibc
#endif
import Compute
import Datasets
import Distributed
import Training

/// The epoch loop every `train` command shares, around a `Trainer`: samplers from the
/// `--sampling`, `--workers` and `--partition` options, resume, per-epoch reporting (text with a
/// progress bar on a terminal, or JSON lines), metrics file, checkpoint after every epoch, SVG
/// plot, and the final summary. An algorithm changes the step through `stages` (its gradient
/// source and transforms); output, checkpoints, exit codes and divergence handling stay here.
public struct SupervisedRun {
    /// The stages an algorithm puts into the step, given the model, the training data, this
    /// rank's samplers and where the run's workers live: nil for back-propagation and the mean
    /// over workers.
    public typealias Stages = (Model, DeviceDataset, [any BatchSampler], WorkerGroup) throws
        -> (source: (any GradientSource)?, transforms: [any GradientTransform]?)

    /// Model, optimisation, checkpoint and output options.
    public let options: TrainingOptions
    /// Where the data comes from and how it is split and scaled.
    public let data: DataOptions
    /// The opened device every buffer and pass of the run uses.
    public let device: any Device
    /// The command name in JSON output (`sgd`, later `dp-sgd`, …).
    public let algorithm: String
    /// The algorithm's gradient source and transforms; nil for ordinary training.
    public let stages: Stages?
    /// Sampling when `--sampling` is not given.
    public let defaultSampling: SamplingMode
    /// What the algorithm adds to epoch lines, the final record and checkpoints, and its step
    /// limit (e.g. the ε spent and the privacy budget).
    public let observer: (any RunObserver)?
    /// The optimizer, learning rate, weight decay and epochs without their options.
    public let defaults: AlgorithmDefaults
    /// A source that updates the parameters itself (zeroth-order training), built for the
    /// inference-only model; replaces `stages`.
    public let selfUpdating: SelfUpdating?
    /// Whether the algorithm trains across MPI ranks (its stages exchange through the group);
    /// the others refuse to start under a multi-process `mpirun`.
    public let runsOnRanks: Bool

    /// Builds the self-updating source from the inference-only model, the training data and the
    /// worker count.
    public typealias SelfUpdating = (Model, DeviceDataset, Int) throws -> any SelfUpdatingGradientSource

    /// A run of the parsed options on `device`, reported under `algorithm`.
    public init(options: TrainingOptions, data: DataOptions, device: any Device, algorithm: String,
                stages: Stages? = nil, defaultSampling: SamplingMode = .shuffle,
                observer: (any RunObserver)? = nil, defaults: AlgorithmDefaults = .firstOrder,
                selfUpdating: SelfUpdating? = nil, runsOnRanks: Bool = false) {
        self.options = options
        self.data = data
        self.device = device
        self.algorithm = algorithm
        self.stages = stages
        self.defaultSampling = defaultSampling
        self.observer = observer
        self.defaults = defaults
        self.selfUpdating = selfUpdating
        self.runsOnRanks = runsOnRanks
    }

    /// The sampling this run uses.
    public var sampling: SamplingMode { options.sampling ?? defaultSampling }

    /// Loads the data, builds the model, resumes if asked, trains to `options.epochs` and reports.
    ///
    /// With `--checkpoint`, the file is rewritten after every finite epoch, so after a divergence
    /// it still holds the last good one.
    /// - Throws: `DataError`, `ModelSpecError`, `ComputeError`, `ArtifactError`, or `TrainingError`
    ///   for divergence and for a checkpoint that does not match this run's model, optimizer, seed,
    ///   classes, scaling or feature count.
    public func run() throws {
        let world = try ProcessWorld.communicator()
        guard world.size == 1 || runsOnRanks else {
            throw CommandFailure("train \(algorithm) runs in one process; run it without mpirun", status: 64)
        }
        let workers = options.workerCount(ranks: world.size)
        guard workers % world.size == 0 else {
            throw CommandFailure("--workers \(workers) does not divide among \(world.size) MPI ranks", status: 64)
        }
        let group = WorkerGroup(communicator: world, workersPerRank: workers / world.size)
        // Rank 0 reports and writes the files; the others train in silence (errors still print).
        Console.isQuiet = !group.isLeader
        // An unwritable output directory should stop the run now, not after the first epoch.
        for path in [options.checkpoint, options.plot, options.metrics].compactMap({ $0 }) where group.isLeader {
            let directory = FileIO.directoryName(of: path)
            if access(directory, W_OK) != 0 {
                throw CommandFailure("\(path): cannot write into \(directory)", status: ExitStatus.cannotCreate)
            }
        }
        let optimizerName = options.optimizerName(defaults)
        guard defaults.optimizers.contains(optimizerName) else {
            throw CommandFailure("--optimizer \(optimizerName) is not a rule of train \(algorithm) (its rules: "
                                 + defaults.optimizers.joined(separator: ", ") + ")", status: 64)
        }
        let clock = ContinuousClock()
        let started = clock.now
        let config = options.trainingConfig(defaults)
        let spec = try ModelSpec(parsing: options.modelSpec(defaults))
        let (trainSet, testSet, source) = try data.load(
            seed: config.seed, imageShape: spec == .cnn ? ImageShape(channels: 1, height: 28, width: 28) : nil)
        let train = try DeviceDataset(trainSet, device: device)
        let test = try DeviceDataset(testSet, device: device)
        let input = spec.inputShape(for: train.shape)
        let layers = try spec.layers(input: input, classes: train.classCount)
        let allSamplers = try makeSamplers(labels: trainSet.labels, classCount: trainSet.classes.count, workers: workers,
                                           config: config)
        let samplers = Array(allSamplers[group.firstWorker..<(group.firstWorker + group.workersPerRank)])
        // Large enough for a training batch and for evaluating 256 rows at a time, and no larger
        // than the data needs; with --max-physical-batch exactly that, so memory is sized by it.
        let batch = min(config.batchSize, max(train.count, 1))
        let maxBatch = options.maxPhysicalBatch ?? max(batch, min(256, max(test.count, 1)))
        let model = try Model(layers: layers, input: input, device: device, maxBatch: maxBatch, seed: config.seed,
                              training: selfUpdating == nil)
        let replicas = ReplicaCheck(group: group)
        if group.isDistributed {
            try replicas.compareConfiguration(arguments: Array(CommandLine.arguments.dropFirst()),
                                              device: device.kind.rawValue, data: trainSet,
                                              parameters: try device.download(model.parameters.whole))
        }
        let checkpoint = try options.resume.map { try readCheckpoint($0, group: group) }
        if let checkpoint { try observer?.resume(from: checkpoint) }
        let custom = try stages?(model, train, samplers, group)
        let updating = try selfUpdating?(model, train, samplers.count)
        let trainer = try Trainer(model: model, config: config, train: train, samplers: samplers,
                                  source: custom?.source, transforms: custom?.transforms, selfUpdating: updating,
                                  group: group)
        let optimizerDescription = updating.map { "\($0)" } ?? config.optimizer.description

        // Everything that makes a resumed run the same run besides model, optimizer and seed
        // (which `Trainer.restore` checks): the data, its split and scaling, and the
        // hyper-parameters. Only --epochs may change, to extend a run.
        let runMetadata = [
            "classes": trainSet.classes.joined(separator: "\u{1F}"), "scale": data.scale.rawValue,
            "features": String(trainSet.featureCount), "data": source, "test": data.test ?? "",
            "test_fraction": String(data.testFraction), "train_samples": String(trainSet.count),
            "optimizer_config": optimizerDescription, "schedule": config.schedule.description,
            "batch_size": options.batchSize.description, "sampling": sampling.rawValue,
            "workers": String(workers), "partition": options.partition,
        ]
        var history: [EpochRecord] = []
        if let resume = options.resume, let checkpoint {
            try trainer.restore(checkpoint, modelSpec: spec.description)
            for (key, value) in runMetadata where checkpoint.metadata[key].map({ $0 != value }) ?? false {
                throw TrainingError.checkpointMismatch(
                    "checkpoint does not match this run: it was trained with \(key) '\(checkpoint.metadata[key] ?? "")',"
                        + " this run has '\(value)' (\(resume))")
            }
            history = checkpoint.history
        }
        trainer.stepLimit = observer?.stepLimit(trainer, plannedSteps: config.epochs * trainer.stepsPerEpoch)
        let metricsFile = group.isLeader
            ? try options.metrics.map { try MetricsFile(path: $0, truncate: options.resume == nil) } : nil

        var start = JSONObject()
        start.add("event", "start")
        start.add("algorithm", algorithm)
        start.add("device", device.kind.rawValue)
        start.add("device_name", device.name)
        start.add("data", source)
        start.add("train_samples", trainSet.count)
        start.add("test_samples", testSet.count)
        start.add("features", trainSet.featureCount)
        start.add("classes", trainSet.classes.count)
        start.add("model", spec.description)
        start.add("parameters", model.parameterCount)
        start.add("optimizer", optimizerDescription)
        start.add("schedule", config.schedule.description)
        start.add("epochs", config.epochs)
        start.add("batch_size", options.batchSize.description)
        start.add("sampling", sampling.rawValue)
        start.add("steps_per_epoch", trainer.stepsPerEpoch)
        start.add("workers", workers)
        if workers > 1 { start.add("partition", options.partition) }
        if group.isDistributed {
            start.add("ranks", world.size)
            start.add("transport", world.transport)
        }
        start.add("max_physical_batch", model.maxBatch)
        start.add("seed", config.seed)
        start.add("resumed_from_epoch", trainer.epoch)
        if options.json {
            Console.line(start.line)
        } else {
            Console.line("data: \(source): \(trainSet.count) train, \(testSet.count) test, "
                         + "\(trainSet.featureCount) features, \(trainSet.classes.count) classes")
            Console.line("model: \(spec) on \(device.kind.rawValue) (\(device.name)), \(model.parameterCount) parameters")
            Console.line("optimizer: \(optimizerDescription), schedule \(config.schedule), "
                         + "batch \(options.batchSize), seed \(config.seed)")
            if group.isDistributed {
                Console.line("ranks: \(world.size) over \(world.transport), \(group.workersPerRank) worker"
                             + (group.workersPerRank == 1 ? "" : "s") + " each, \(CPUThreads.count) CPU thread"
                             + (CPUThreads.count == 1 ? "" : "s") + " per rank")
            }
            if sampling != .shuffle || workers > 1 || options.maxPhysicalBatch != nil {
                Console.line("step: \(samplers[0])" + (workers > 1 ? " on each of \(workers) workers "
                             + "(\(options.partition))" : "") + ", \(trainer.stepsPerEpoch) steps per epoch, "
                             + "physical batches of at most \(model.maxBatch)")
            }
            if trainer.epoch > 0 { Console.line("resumed after epoch \(trainer.epoch)") }
        }
        try metricsFile?.append(start)

        // Open MPI gives ranks a pseudo-terminal; a bar redrawn through the launcher is noise.
        let showProgress = !options.json && Console.stdoutIsTerminal && !group.isDistributed
        var partialEpoch: EpochRecord?
        var stopReason: String?
        do {
            while trainer.epoch < config.epochs {
                if let limit = trainer.stepLimit, trainer.step >= limit {
                    stopReason = observer?.stopReason(trainer)
                    // A resumed run with no step left: the final figures are the model's as it is.
                    if trainer.isMidEpoch {
                        let (testLoss, testAccuracy) = try trainer.evaluate(test)
                        partialEpoch = EpochRecord(epoch: trainer.epoch + 1, trainLoss: .nan, trainAccuracy: .nan,
                                                   testLoss: testLoss, testAccuracy: testAccuracy, seconds: 0)
                    }
                    break
                }
                let epochStart = clock.now
                let label = "epoch \(trainer.epoch + 1)/\(config.epochs)"
                // At most 20 redraws a second: with small batches a redraw per step would cost
                // more terminal output than the training is worth.
                var lastDraw = clock.now - .seconds(1)
                let (trainLoss, trainAccuracy) = try trainer.trainEpoch(progress: showProgress ? { done, total in
                    guard done == total || clock.now - lastDraw >= .milliseconds(50) else { return }
                    lastDraw = clock.now
                    Console.progress(label, done: done, total: total)
                } : nil)
                let (testLoss, testAccuracy) = try trainer.evaluate(test)
                if test.count > 0 && !testLoss.isFinite { throw TrainingError.testLossDiverged(epoch: trainer.epoch) }
                if group.isDistributed {
                    try replicas.compareParameters(try device.download(model.parameters.whole), epoch: trainer.epoch)
                }
                let seconds = seconds(clock.now - epochStart)
                if showProgress { Console.clearProgress() }
                // An epoch cut short by the step limit is reported, and its figures end the run,
                // but the history (the plot, a resumed run's records) holds whole epochs only.
                let partial = trainer.isMidEpoch
                let record = EpochRecord(epoch: trainer.epoch + (partial ? 1 : 0), trainLoss: trainLoss,
                                         trainAccuracy: trainAccuracy, testLoss: testLoss, testAccuracy: testAccuracy,
                                         seconds: seconds)
                if partial { partialEpoch = record } else { history.append(record) }
                var line = epochObject(record, step: trainer.step)
                if partial { line.add("partial", true) }
                let extra = observer?.epochMetrics(trainer) ?? []
                for (key, value) in extra { line.add(key, value) }
                if options.json {
                    Console.line(line.line)
                } else {
                    let testPart = test.count == 0 ? "no test set"
                        : "test loss \(format(testLoss, 4))  test acc \(format(100 * testAccuracy, 2))%"
                    let extraPart = extra.map { "  \($0.0) \(format($0.1, 3))" }.joined()
                    Console.line("epoch \(record.epoch)/\(config.epochs)  loss \(format(trainLoss, 4))  "
                                 + "train acc \(format(100 * trainAccuracy, 2))%  \(testPart)\(extraPart)  \(format(seconds, 2)) s")
                }
                try metricsFile?.append(line)
                if let path = options.checkpoint {
                    // Every rank takes part (the workers' state is gathered); rank 0 writes.
                    let saved = try trainer.checkpoint(modelSpec: spec.description, history: history,
                                                       metadata: runMetadata.merging(["device": device.kind.rawValue,
                                                                                      "algorithm": algorithm]) { $1 }
                                                           .merging(observer?.checkpointMetadata(trainer) ?? [:]) { $1 })
                    if group.isLeader { try saved.write(to: path) }
                }
                if partial {
                    stopReason = observer?.stopReason(trainer)
                    break
                }
            }
        } catch let error as TrainingError {
            if showProgress { Console.clearProgress() }
            // Keep what was learned before the divergence visible; the checkpoint file still
            // holds the last good epoch because it is only written after a finite epoch.
            if let plot = options.plot, group.isLeader {
                try? TrainingPlot.write(records: history, title: plotTitle(spec), to: plot)
            }
            throw error
        }

        if let plot = options.plot, group.isLeader { try TrainingPlot.write(records: history, title: plotTitle(spec), to: plot) }
        let last = partialEpoch ?? history.last
        var final = JSONObject()
        final.add("event", "final")
        final.add("algorithm", algorithm)
        final.add("device", device.kind.rawValue)
        final.add("model", spec.description)
        final.add("epochs", trainer.epoch)
        final.add("steps", trainer.step)
        final.add("train_loss", last?.trainLoss ?? .nan)
        final.add("train_accuracy", last?.trainAccuracy ?? .nan)
        final.add("test_loss", last?.testLoss ?? .nan)
        final.add("test_accuracy", last?.testAccuracy ?? .nan)
        for (key, value) in observer?.epochMetrics(trainer) ?? [] { final.add(key, value) }
        observer?.addFinalFields(trainer, to: &final)
        if let stopReason { final.add("stopped", stopReason) }
        final.add("seconds", seconds(clock.now - started))
        if options.json {
            Console.line(final.line)
        } else {
            let stepsIn = trainer.step - trainer.epoch * trainer.stepsPerEpoch
            let elapsed = (stepsIn > 0 ? "and \(stepsIn) steps " : "") + "(\(format(seconds(clock.now - started), 1)) s)"
            if let stopReason { Console.line("stopped after step \(trainer.step): \(stopReason)") }
            if let last, test.count > 0 {
                Console.line("final: test accuracy \(format(100 * last.testAccuracy, 2))% after \(trainer.epoch) epochs \(elapsed)")
            } else if let last {
                Console.line("final: train accuracy \(format(100 * last.trainAccuracy, 2))% after \(trainer.epoch) epochs, "
                             + "no test set \(elapsed)")
            } else {
                Console.line("final: no epochs to run (--epochs \(config.epochs), \(trainer.epoch) done) \(elapsed)")
            }
        }
        try metricsFile?.append(final)
    }

    /// One sampler per worker: the whole training set for one worker (its shuffle is the
    /// original trainer's, bit for bit), else the `--partition` parts, each with its own seed.
    /// - Throws: `CommandFailure` (exit 64) when the partition cannot be honoured or leaves a
    ///   worker without rows.
    private func makeSamplers(labels: [Int32], classCount: Int, workers: Int, config: TrainingConfig) throws
        -> [any BatchSampler] {
        guard let partitioning = options.partitioning else {
            throw CommandFailure("--partition '\(options.partition)' does not parse", status: 64)
        }
        if workers > 1, let problem = partitioning.problem(classCount: classCount, parts: workers) {
            throw CommandFailure("--partition \(partitioning): \(problem)", status: 64)
        }
        let parts = workers == 1 ? [Array(labels.indices)]
            : partitioning.partition(labels: labels, classCount: classCount, parts: workers, seed: config.seed)
        if let empty = parts.firstIndex(where: \.isEmpty) {
            throw CommandFailure("--partition \(partitioning) leaves worker \(empty) of \(workers) without rows", status: 64)
        }
        return parts.enumerated().map { worker, rows -> any BatchSampler in
            // Worker 0 keeps the run's seed, so one worker is exactly the ordinary run.
            let seed = (observer?.samplingSeed ?? config.seed) &+ UInt64(worker) &* 0x9E37_79B9_7F4A_7C15
            let inner: any BatchSampler
            if case .full = options.batchSize {
                inner = FullBatchSampler(count: rows.count)
            } else if sampling == .shuffle {
                inner = ShuffleSampler(count: rows.count, batchSize: config.batchSize, seed: seed)
            } else {
                inner = PoissonSampler(count: rows.count, expectedBatchSize: config.batchSize, seed: seed)
            }
            return workers == 1 ? inner : PartitionSampler(rows: rows, inner: inner)
        }
    }

    /// The checkpoint to resume, read by rank 0 and sent to the others (the file need only be
    /// on rank 0's machine); one that cannot be opened is missing input (exit 66), not a
    /// failed write.
    private func readCheckpoint(_ path: String, group: WorkerGroup) throws -> Checkpoint {
        do {
            guard group.isDistributed else { return try Checkpoint.read(from: path) }
            let bytes = try group.communicator.broadcast(group.isLeader ? try Checkpoint.fileBytes(path) : [], root: 0)
            return try Checkpoint(bytes: bytes, name: path)
        } catch let error as ArtifactError {
            if error.kind.isIO { throw CommandFailure(error.description, status: ExitStatus.noInput) }
            throw error
        }
    }

    private func plotTitle(_ spec: ModelSpec) -> String {
        "\(algorithm) · \(spec) · \(options.optimizerName(defaults)) · \(device.kind.rawValue)"
    }

    private func epochObject(_ record: EpochRecord, step: Int) -> JSONObject {
        var object = JSONObject()
        object.add("event", "epoch")
        object.add("epoch", record.epoch)
        object.add("step", step)
        object.add("train_loss", record.trainLoss)
        object.add("train_accuracy", record.trainAccuracy)
        object.add("test_loss", record.testLoss)
        object.add("test_accuracy", record.testAccuracy)
        object.add("seconds", record.seconds)
        return object
    }
}


/// `value` with `digits` decimals (no Foundation formatter needed).
///
/// Non-finite values and values too large for fixed-point text come back as Swift's own
/// spelling (`nan`, `inf`, `1e+20`).
public func format(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    // Past 9e18 the scaled digits would not fit an Int; such numbers read better in exponent form.
    guard value.isFinite, abs(value) * scale < 9e18 else { return "\(value)" }
    let rounded = (abs(value) * scale).rounded()
    let integer = Int(rounded / scale)
    var fraction = String(Int(rounded) - integer * Int(scale))
    fraction = String(repeating: "0", count: max(digits - fraction.count, 0)) + fraction
    let sign = value < 0 && rounded != 0 ? "-" : ""
    return digits > 0 ? "\(sign)\(integer).\(fraction)" : "\(sign)\(integer)"
}
