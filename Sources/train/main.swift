import ArgumentParser
import CommandLineSupport
import Training
import ZerothOrder

/// `train`: one subcommand per training algorithm.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train models on the GPU (OpenCL or CUDA) or the CPU (OpenBLAS).",
        subcommands: [SGD.self, DPSGD.self, SignSGD.self, ZO.self])
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
            try SupervisedRun(options: training, data: data, device: try device.open(), algorithm: "sgd",
                              runsOnRanks: true).run()
        }
    }
}

/// `train dp-sgd`: differentially private training with per-sample clipping and Gaussian noise.
struct DPSGD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-sgd",
        abstract: "DP-SGD (Opacus semantics): Poisson sampling, per-sample clipping (flat, per-layer, adaptive to a quantile, or perturbed as Chen, Wu and Hong), Gaussian noise on the sum divided by the expected batch size, RDP accounting with --target-epsilon calibration and a --max-epsilon budget kept across resumes. Any optimizer runs on the noisy gradient: --optimizer adam is DP-Adam and rmsprop DP-RMSProp (Zhou, Chen, Hong, Wu and Banerjee), post-processing with the same guarantee.")

    @OptionGroup var device: DeviceOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var privacy: PrivacyOptions

    func run() throws {
        runReportingFailures(command: "train dp-sgd") {
            let algorithm = try DPSGDAlgorithm(options: privacy, training: training)
            try SupervisedRun(options: training, data: data, device: try device.open(), algorithm: "dp-sgd",
                              stages: algorithm.stages(training: training), defaultSampling: .poisson,
                              observer: algorithm).run()
        }
    }
}

/// `train signsgd`: compressed data-parallel training with sign votes or medians over workers.
struct SignSGD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signsgd",
        abstract: "signSGD with majority vote, noisy signSGD, (noisy) medianSGD or the fp32 mean over simulated workers (--workers, --partition); the paper's setting is --optimizer sgd --lr 0.01 --weight-decay 0 --batch-size full.")

    @OptionGroup var device: DeviceOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var compression: CompressionOptions

    func run() throws {
        runReportingFailures(command: "train signsgd") {
            let opened = try device.open()
            // Under MPI every epoch line says what a rank sent per step of this process's run.
            var firstStep: Int?
            let sent = EpochMetrics { trainer in
                let start = firstStep ?? trainer.step - trainer.stepsPerEpoch
                firstStep = start
                let bytes = trainer.transforms.compactMap { ($0 as? any ExchangingTransform)?.bytesSent }.reduce(0, +)
                return [("sent_bytes_per_step", Double(bytes) / Double(max(trainer.step - start, 1)))]
            }
            try SupervisedRun(options: training, data: data, device: opened, algorithm: "signsgd",
                              stages: { model, _, _, group in
                                  (nil, compression.transforms(device: opened, seed: training.seed,
                                                               tensorSizes: model.tensors.map(\.count), group: group))
                              }, observer: ProcessWorld.isDistributed ? sent : nil, runsOnRanks: true)
                .run()
        }
    }
}

/// `train zo`: zeroth-order training by function values alone, the model inference-only.
struct ZO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zo",
        abstract: "Zeroth-order training (MeZO-style ZO-SGD, ZO-signSGD, ZO-AdaMM) from loss values only, at inference memory: no gradients or activation gradients exist. Defaults (mlp:64; central Gaussian differences, q = 1, μ = 1e-3; zo-sgd at lr 0.002, cosine, batch 64, 100 epochs) reach 78.8% test accuracy on the embedded MNIST-5k in 11 s on 2 CPU cores; --model logreg --lr 0.005 --epochs 200 reaches 83.6%.")

    @OptionGroup var device: DeviceOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var zo: ZOOptions

    func run() throws {
        runReportingFailures(command: "train zo") {
            let defaults = AlgorithmDefaults.zerothOrder
            let workers = training.workerCount(ranks: 1)
            guard workers * zo.directions <= 65_535 else {
                throw CommandFailure("--workers × --directions must be at most 65535 directions a step", status: 64)
            }
            let optimizer = zo.zoOptimizer(training.optimizerName(defaults),
                                           weightDecay: training.weightDecay ?? defaults.weightDecay)
            // Workers exchange only their directional derivatives: the bytes are the model's size's
            // business nowhere, and every epoch line says how many.
            let exchanged: (Trainer) -> [(String, Double)] = { trainer in
                [("exchanged_bytes_per_step", Double((trainer.selfUpdating as? ZerothOrderGradient)?.bytesExchangedPerStep ?? 0))]
            }
            try SupervisedRun(options: training, data: data, device: try device.open(), algorithm: "zo",
                              observer: workers > 1 ? EpochMetrics(exchanged) : nil, defaults: defaults,
                              selfUpdating: { model, train, workers in
                                  try ZerothOrderGradient(model: model, data: train, estimator: zo.zoEstimator,
                                                          optimizer: optimizer, memory: zo.memory,
                                                          seed: training.seed, workers: workers)
                              }).run()
        }
    }
}

CommandMain.run(Train.self)
