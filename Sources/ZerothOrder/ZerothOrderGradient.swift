import Compute
import Training

/// Zeroth-order training of a model by function values alone (MeZO, ZO-SGD, ZO-signSGD,
/// ZO-AdaMM): the step's gradient source and update in one, so the model can be
/// inference-only (no gradient, activation-gradient or backward buffers).
///
/// For each worker w (in-process, each on its own batch) and direction j of the worker's q, the
/// parameters are moved to θ ± μ·u_j and the batch loss is summed on the device into a slot;
/// `zoCoefficients` turns the loss differences into directional derivatives g_j on the device,
/// and the update regenerates every direction from the step seed (never stored, in the default
/// in-place mode). With ZO-SGD the last restore and the update are one pass,
/// θ ← (1 − ηλ)·θ + Σ_j (restore_j − η·g_j)·u_j, so a forward-difference step with q = 1 costs 2
/// forwards and 3 passes over the parameters (perturb, restore, fused restore-and-update) and
/// no read-back at all. ZO-signSGD and ZO-AdaMM form ĝ in a parameter-sized buffer first (their
/// moments need it anyway).
///
/// Workers exchange only what the update needs: the shared step seed (8 bytes, derived from the
/// run's seed and the step) and q scalars each, so a step's communication is 4·q·M bytes
/// whatever the model size (`bytesExchangedPerStep`). Micro-batches (a batch larger than the
/// model's `maxBatch`) sum their losses at the same perturbation: accumulation is exact.
public final class ZerothOrderGradient: SelfUpdatingGradientSource {
    public let model: Model
    public let data: DeviceDataset
    public let estimator: ZOEstimator
    public let optimizer: ZOOptimizer
    public let memory: ZOMemoryMode
    /// The run's seed, from which every step's directions follow.
    public let seed: UInt64
    /// Workers whose directions each step combines.
    public let workers: Int

    private let device: any Device
    private let pass: LossPass
    /// Per worker, its function values (`estimator.layout().stride` each).
    private let values: DeviceBuffer
    /// Per direction (worker-major): inverse norms (sphere), derivatives g_j, update coefficients.
    private let inverseNorms: DeviceBuffer
    private let derivatives: DeviceBuffer
    private let coefficients: DeviceBuffer
    /// ĝ, for the rules that need it stored.
    private let estimate: DeviceBuffer?
    /// The parameters the exact mode perturbs from, equal to them between steps (copied at the
    /// start, after every update and after a restore).
    private let master: DeviceBuffer?
    /// The step's directions, (workers·q) × P, in the materialised mode; `unit` is the
    /// coefficient 1 that writes one of them.
    private let stored: DeviceBuffer?
    private let unit: DeviceBuffer?
    /// The projected step of the stored-estimate rules (ZO-signSGD, ZO-AdaMM and its moments).
    private let update: ProjectedUpdate?
    /// Each worker's loss normaliser in the current step, and whether it has evaluated.
    private var scales: [Float]
    private var evaluated: [Bool]

    /// A source for `model` (inference-only or not) over `data`, for `workers` workers.
    /// - Throws: `ComputeError` when a buffer cannot be allocated.
    public init(model: Model, data: DeviceDataset, estimator: ZOEstimator, optimizer: ZOOptimizer,
                memory: ZOMemoryMode = .inPlace, seed: UInt64, workers: Int = 1) throws {
        precondition(workers >= 1, "at least one worker")
        precondition(workers * estimator.directions <= 65_535, "at most 65,535 directions a step")
        self.model = model
        self.data = data
        self.estimator = estimator
        self.optimizer = optimizer
        self.memory = memory
        self.seed = seed
        self.workers = workers
        device = model.device
        pass = try LossPass(model: model, data: data)
        let p = model.parameterCount, total = workers * estimator.directions
        values = try device.makeBuffer(count: workers * estimator.layout().stride)
        inverseNorms = try device.makeBuffer(count: total)
        derivatives = try device.makeBuffer(count: total)
        coefficients = try device.makeBuffer(count: total)
        estimate = optimizer.kind == .sgd ? nil : try device.makeBuffer(count: p)
        master = memory == .exact ? try device.makeBuffer(count: p) : nil
        stored = memory == .materialized ? try device.makeBuffer(count: bufferSize(total, p)) : nil
        unit = memory == .materialized ? try device.upload([1]) : nil
        update = optimizer.kind == .sgd ? nil : try ProjectedUpdate(device: device, optimizer: optimizer, count: p)
        scales = [Float](repeating: 1, count: workers)
        evaluated = [Bool](repeating: false, count: workers)
        if let master { try device.copy(model.parameters.whole, to: master.whole) }
    }

    public var optimizerName: String { optimizer.kind.rawValue }

    /// e.g. "zo-sgd, gaussian q=1 μ=0.001 forward, in-place".
    public var description: String {
        "\(optimizer), \(estimator)" + (workers > 1 ? " on each of \(workers) workers" : "") + ", \(memory.rawValue)"
    }

    /// Bytes of device memory the source adds to the model's (function values, per-direction
    /// scalars, ĝ, the exact mode's copy, stored directions, optimizer moments).
    public var memoryBytes: Int {
        [values, inverseNorms, derivatives, coefficients, estimate, master, stored, unit, update?.state]
            .compactMap { $0?.byteCount }.reduce(0, +)
    }

    /// What workers exchange per step: each worker's q directional derivatives (4 bytes each);
    /// the 8-byte step seed follows from the run's seed and the step, so it is never sent.
    public var bytesExchangedPerStep: Int { workers > 1 ? 4 * workers * estimator.directions : 0 }

    /// All directions of global step `step`: ids f ..< f + Q for Q = workers·q, worker w's from
    /// f + w·q, where f is 0, or for cyclic coordinates the step's place in the cycle (so
    /// successive steps visit successive coordinates).
    public func directions(step: Int) -> DirectionSet {
        let total = workers * estimator.directions
        let first = estimator.distribution == .cyclicCoordinate
            ? UInt32(truncatingIfNeeded: step &* total % max(model.parameterCount, 1)) : 0
        return DirectionSet(estimator.distribution, stepSeed: DirectionSet.stepSeed(run: seed, step: step),
                            dimension: model.parameterCount, directions: total, firstDirection: first)
    }

    /// Worker `worker`'s q directions of global step `step`.
    public func directions(step: Int, worker: Int) -> DirectionSet {
        var set = directions(step: step)
        set.directions = estimator.directions
        set.firstDirection &+= UInt32(worker * estimator.directions)
        return set
    }

    public func evaluate(rows: BufferSlice, worker: Int, scale: Float, statistics: BatchStatistics, stepInEpoch: Int,
                         step: Int) throws {
        precondition(worker >= 0 && worker < workers, "worker \(worker) of \(workers)")
        scales[worker] = scale
        evaluated[worker] = true
        let q = estimator.directions, mu = estimator.smoothing
        let set = directions(step: step, worker: worker)
        let theta = model.parameters.whole
        if set.distribution.isNormalised { try device.zoInverseNorms(set, into: inverseNorms.slice(worker * q, q)) }
        if let stored, let unit {
            for j in 0..<q {
                let one = single(set, j)
                try device.zoCombine(one, coefficients: unit.whole, inverseNorms: norms(worker * q + j), decay: 0,
                                     accumulate: false, into: storedDirection(stored, worker * q + j))
            }
        }
        // The last direction of the last worker stays perturbed when the update restores it.
        let fusedRestore = optimizer.kind == .sgd && memory != .exact && worker == workers - 1
        let base = worker * estimator.layout().stride
        var offset: Float = 0
        /// Moves θ from θ₀ + offset·u_j to θ₀ + target·u_j.
        func move(_ j: Int, to target: Float) throws {
            switch memory {
            case .inPlace:
                try device.zoPerturb(single(set, j), source: theta, sourceProblemStride: 0, destination: theta,
                                     destinationProblemStride: 0, destinationDirectionStride: 0,
                                     inverseNorms: norms(worker * q + j), scale: target - offset)
            case .exact:
                guard let master else { preconditionFailure("the exact mode keeps a copy") }
                if target == 0 {
                    try device.copy(master.whole, to: theta)
                } else {
                    try device.zoPerturb(single(set, j), source: master.whole, sourceProblemStride: 0,
                                         destination: theta, destinationProblemStride: 0, destinationDirectionStride: 0,
                                         inverseNorms: norms(worker * q + j), scale: target)
                }
            case .materialized:
                guard let stored else { preconditionFailure("the materialised mode stores its directions") }
                try device.axpby(alpha: target - offset, x: storedDirection(stored, worker * q + j), beta: 1, y: theta)
            }
            offset = target
        }
        func lossSum(into slot: Int, record: Bool) throws {
            if rows.count == 0 { try device.fill(values.slice(slot, 1), with: 0) }
            try pass.forEachMicroBatch(rows) { chunk, first in
                try pass.forwardAndLoss(rows: chunk, gradientScale: 0, statistics: statistics, stepInEpoch: stepInEpoch,
                                        gradient: false, record: record)
                try device.columnSum(statistics.sampleLoss.slice(0, chunk.count), rows: chunk.count, cols: 1,
                                     beta: first ? 0 : 1, into: values.slice(slot, 1))
            }
        }
        if estimator.central {
            for j in 0..<q {
                try move(j, to: mu)
                try lossSum(into: base + 2 * j, record: j == 0)
                try move(j, to: -mu)
                try lossSum(into: base + 2 * j + 1, record: false)
                if !(fusedRestore && j == q - 1) { try move(j, to: 0) }
            }
        } else {
            try lossSum(into: base, record: true)
            for j in 0..<q {
                try move(j, to: mu)
                try lossSum(into: base + 1 + j, record: false)
                if !(fusedRestore && j == q - 1) { try move(j, to: 0) }
            }
        }
    }

    public func applyUpdate(learningRate: Float, step: Int) throws {
        precondition(evaluated.allSatisfy { $0 }, "every one of the \(workers) workers evaluates before the update")
        evaluated = [Bool](repeating: false, count: workers)
        let q = estimator.directions, p = model.parameterCount, total = workers * q
        let theta = model.parameters.whole
        let stores = optimizer.kind != .sgd
        let fused = !stores && memory != .exact
        for w in 0..<workers {
            // The fused restore undoes the last direction's offset (+μ forward, −μ central) after
            // the decay scales it too, so the decay acts on the restored parameters as in MeZO.
            let offset = estimator.central ? -estimator.smoothing : estimator.smoothing
            let restore = fused && w == workers - 1 ? -offset * (1 - learningRate * optimizer.weightDecay) : 0
            try device.zoCoefficients(
                values.slice(w * estimator.layout().stride, estimator.layout().stride), layout: estimator.layout(),
                factor: estimator.factor(dimension: p, scale: scales[w], totalDirections: total), restore: restore,
                weight: stores ? 1 : -learningRate, sign: false, gradients: derivatives.slice(w * q, q),
                coefficients: coefficients.slice(w * q, q))
        }
        let all = directions(step: step)
        let allNorms = all.distribution.isNormalised ? inverseNorms.whole : nil
        let decay = 1 - learningRate * optimizer.weightDecay
        /// Σ_j coefficients_j·u_j into `out`: regenerated directions, or one product with the stored ones.
        func combine(into out: BufferSlice, decay: Float, accumulate: Bool) throws {
            if let stored {
                try device.gemm(GemmShape(m: 1, n: p, k: total), alpha: 1, a: coefficients.whole,
                                b: stored.slice(0, total * p), beta: accumulate ? decay : 0, c: out)
            } else {
                try device.zoCombine(all, coefficients: coefficients.whole, inverseNorms: allNorms, decay: decay,
                                     accumulate: accumulate, into: out)
            }
        }
        guard let estimate, let update else {
            // ZO-SGD: the exact mode updates its copy, which the parameters then follow.
            try combine(into: master?.whole ?? theta, decay: decay, accumulate: true)
            if let master { try device.copy(master.whole, to: theta) }
            return
        }
        try combine(into: estimate.whole, decay: 0, accumulate: false)
        if optimizer.weightDecay > 0 {
            try device.axpby(alpha: optimizer.weightDecay, x: theta, beta: 1, y: estimate.whole)
        }
        try update.apply(x: theta, g: estimate.whole, rate: learningRate, bounds: nil)
        if let master { try device.copy(theta, to: master.whole) }
    }

    public var stateCount: Int { update?.stateCount ?? 0 }

    public func snapshot() throws -> [Float] { try update?.snapshot() ?? [] }

    /// Restores the moments; the exact mode's copy takes the parameters the trainer has just
    /// restored.
    public func restore(_ saved: [Float]) throws {
        if let update { try update.restore(saved) } else {
            precondition(saved.isEmpty, "\(optimizer.kind.rawValue) keeps no state")
        }
        if let master { try device.copy(model.parameters.whole, to: master.whole) }
    }

    /// Direction j of `set` alone.
    private func single(_ set: DirectionSet, _ j: Int) -> DirectionSet {
        var one = set
        one.directions = 1
        one.firstDirection = set.firstDirection &+ UInt32(j)
        return one
    }

    /// The inverse norm of direction `index` (worker-major), for sphere directions.
    private func norms(_ index: Int) -> BufferSlice? {
        estimator.distribution.isNormalised ? inverseNorms.slice(index, 1) : nil
    }

    private func storedDirection(_ stored: DeviceBuffer, _ index: Int) -> BufferSlice {
        stored.slice(index * model.parameterCount, model.parameterCount)
    }
}
