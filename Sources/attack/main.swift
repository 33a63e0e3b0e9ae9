import ArgumentParser
import Artifacts
import CommandLineSupport
import Compute
import ZerothOrder

/// `attack`: zeroth-order black-box attacks on a model `train` wrote.
struct Attack: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "Black-box adversarial attacks by zeroth-order optimisation on a trained checkpoint: untargeted per-image attacks (ZO-SGD, ZO-signSGD, ZO-AdaMM; Carlini–Wagner margin plus ℓ2 distortion, inside the valid pixel box) or, with --universal, one universal perturbation against an ensemble by ZO-Min-Max.")

    @OptionGroup var device: DeviceOptions

    @Option(help: "The checkpoint of the model to attack (train ... --checkpoint FILE); its spec, classes, scaling and split are used.")
    var checkpoint: String?

    @Option(help: "The training data, when it has moved since training (the checkpoint records its path).")
    var data: String?

    @Option(help: "Correctly classified test images to attack.")
    var images: Int = 50

    @Option(help: "zo-sgd, zo-sign, zo-adamm, or all.")
    var method: String = "all"

    @Option(help: "Iterations per attack (each queries the current image and its neighbours).")
    var iterations: Int = 1000

    @Option(help: "Seed of the image choice and the directions.")
    var seed: UInt64 = 121

    @Option(help: "Directions per iteration (q).")
    var directions: Int = 10

    @Option(help: "Smoothing step μ.")
    var mu: Float = 0.005

    @Option(help: "Directions: sphere (the paper's), gaussian, rademacher or coordinate.")
    var estimator: EstimatorName = .sphere

    @Option(help: "Learning rate α (decayed as α/√(t + 1)) for every method (--universal: of the descent on δ, default 1); by default each method's own (zo-sgd 0.001, zo-sign 0.02, zo-adamm 0.05: each reaches ≥ 98% success on the embedded data's mlp:512,256 in 1000 iterations).")
    var lr: Float?

    @Option(help: "c, the weight of the margin loss against the ℓ2 distortion.")
    var c: Float = 10

    @Flag(help: "One universal perturbation against the --ensemble by ZO-Min-Max (and the uniform-weight baseline).")
    var universal = false

    @Option(help: "With --universal: comma-separated checkpoints of the ensemble's models (trained on the same data).")
    var ensemble: String?

    @Option(help: "With --universal: the ℓ∞ radius ε of the perturbation, in scaled units.")
    var epsilon: Float = 0.3

    @Flag(help: "One JSON object per line instead of a table.")
    var json = false

    func validate() throws {
        guard images >= 1 && images <= 10_000 else { throw ValidationError("--images must be in 1...10000") }
        guard iterations >= 0 && iterations <= 1_000_000 else { throw ValidationError("--iterations must be in 0...1000000") }
        guard directions >= 1 && directions <= 1024 else { throw ValidationError("--directions must be in 1...1024") }
        guard mu > 0 && mu.isFinite else { throw ValidationError("--mu must be positive") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be positive") }
        guard epsilon > 0 && epsilon.isFinite else { throw ValidationError("--epsilon must be positive") }
        guard method == "all" || ZOOptimizerKind(rawValue: method) != nil else {
            throw ValidationError("--method must be zo-sgd, zo-sign, zo-adamm or all, not '\(method)'")
        }
        if universal {
            guard let ensemble, !ensemble.split(separator: ",").isEmpty else {
                throw ValidationError("--universal needs --ensemble A,B")
            }
        } else if checkpoint == nil {
            throw ValidationError("--checkpoint is required (or --universal --ensemble A,B)")
        }
    }

    func run() throws {
        runReportingFailures(command: "attack") {
            let opened = try device.open()
            let estimatorSettings = ZOEstimator(estimator.distribution, directions: directions, smoothing: mu)
            if universal {
                try runUniversal(device: opened, estimator: estimatorSettings)
                return
            }
            let rows = estimatorSettings.queryRows
            // Whole images' query rows a forward pass, about 512 rows.
            let target = try AttackTarget.load(path: checkpoint ?? "", dataPath: data, device: opened,
                                               maxBatch: max(rows, 512 / rows * rows))
            let (x, labels) = try target.correctlyClassified(images, seed: seed)
            if labels.count < images {
                Console.error("attack: only \(labels.count) correctly classified test images; attacking those")
            }
            let methods = method == "all" ? ZOOptimizerKind.allCases : [ZOOptimizerKind(rawValue: method) ?? .adamm]
            var rates: [ZOOptimizerKind: Float] = [.sgd: 0.001, .sign: 0.02, .adamm: 0.05]
            if let lr { for kind in ZOOptimizerKind.allCases { rates[kind] = lr } }
            let settings = AttackSettings(estimator: estimatorSettings, iterations: iterations, learningRates: rates, weight: c)
            if !json {
                Console.line("model: \(target.spec) from \(checkpoint ?? ""), \(labels.count) correctly classified test images, "
                             + "\(estimatorSettings), \(iterations) iterations, c = \(c), on \(opened.kind.rawValue)")
                Console.line("method      success   mean l2   mean queries   seconds")
            }
            for kind in methods {
                let report = try BlackBoxAttack.run(model: target.model, images: x, labels: labels, lower: target.lower,
                                                    upper: target.upper, method: kind, settings: settings, seed: seed)
                if json {
                    var object = JSONObject()
                    object.add("method", kind.rawValue)
                    object.add("images", report.images)
                    object.add("successes", report.successes)
                    object.add("success_rate", report.successRate)
                    object.add("mean_l2", report.meanL2)
                    object.add("mean_queries", report.meanQueries)
                    object.add("iterations", iterations)
                    object.add("directions", directions)
                    object.add("mu", Double(mu))
                    object.add("lr", Double(rates[kind] ?? 0))
                    object.add("seconds", report.seconds)
                    Console.line(object.line)
                } else {
                    Console.line(pad(kind.rawValue, 10) + "  " + pad(format(100 * report.successRate, 1) + "%", 7)
                                 + "   " + pad(format(report.meanL2, 3), 7) + "   " + pad(format(report.meanQueries, 0), 12)
                                 + "   " + format(report.seconds, 1))
                }
            }
        }
    }

    private func runUniversal(device: any Device, estimator: ZOEstimator) throws {
        let paths = (ensemble ?? "").split(separator: ",").map(String.init)
        let candidates = estimator.queryRows
        let targets = try paths.map {
            try AttackTarget.load(path: $0, dataPath: data, device: device, maxBatch: max(candidates, 512 / candidates * candidates))
        }
        let first = targets[0]
        for target in targets.dropFirst()
            where target.test.labels != first.test.labels || target.lower != first.lower || target.upper != first.upper {
            throw CommandFailure("\(paths.joined(separator: ", ")): the ensemble's models were trained on different data, splits or scalings",
                                 status: ExitStatus.dataError)
        }
        // Images every model classifies correctly.
        let (x, labels) = try first.correctlyClassified(first.test.count, seed: seed)
        let d = first.test.featureCount
        let others = try targets.dropFirst().map { try $0.predictions(x) }
        var kept: [Float] = [], keptLabels: [Int32] = []
        for (i, label) in labels.enumerated() where keptLabels.count < images && others.allSatisfy({ $0[i] == Int(label) }) {
            kept += x[i * d..<(i + 1) * d]
            keptLabels.append(label)
        }
        let settings = UniversalAttackSettings(estimator: estimator, iterations: iterations, learningRate: lr ?? 1,
                                               epsilon: epsilon)
        if !json {
            Console.line("ensemble: \(paths.joined(separator: ", ")), \(keptLabels.count) images all classify correctly, "
                         + "ε = \(epsilon), \(estimator), \(iterations) iterations")
        }
        for minMax in [true, false] {
            let report = try UniversalAttack.run(models: targets.map(\.model), images: kept, labels: keptLabels,
                                                 lower: first.lower, upper: first.upper, settings: settings,
                                                 minMax: minMax, seed: seed)
            let name = minMax ? "zo-min-max" : "zo-finite-sum"
            if json {
                var object = JSONObject()
                object.add("method", name)
                object.add("images", report.images)
                for (i, rate) in report.successRates.enumerated() { object.add("success_rate_\(i)", rate) }
                object.add("weights", report.weights.map { format(Double($0), 3) }.joined(separator: ","))
                object.add("linf", report.linf)
                object.add("l2", report.l2)
                object.add("seconds", report.seconds)
                Console.line(object.line)
            } else {
                let rates = zip(paths, report.successRates).map { "\($0.0) \(format(100 * $0.1, 1))%" }.joined(separator: ", ")
                Console.line("\(pad(name, 13))  success \(rates)  weights "
                             + report.weights.map { format(Double($0), 3) }.joined(separator: "/")
                             + "  ‖δ‖∞ \(format(report.linf, 3))  ‖δ‖₂ \(format(report.l2, 2))  \(format(report.seconds, 1)) s")
            }
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(width - text.count, 0))
    }
}

Attack.main()
