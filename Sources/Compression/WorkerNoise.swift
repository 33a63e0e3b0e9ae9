import Compute
import Distributed
import Philox
import Training

/// The noise each worker adds to its gradient before the sign or the median (Chen, Chen, Sun,
/// Wu and Hong, NeurIPS 2020): b·ξ_m with ξ_m ~ N(0, I) from Philox stream (seed + m, step,
/// `Streams.compression`), coordinate i taking normal i of the stream.
public enum SignNoise: Sendable, Hashable, CustomStringConvertible {
    /// One b for every coordinate; 0 is no noise.
    case fixed(Float)
    /// b_t = factor · max over workers m of max_i |g_m,t,i| for every parameter tensor t, the
    /// paper's experiments' rule (factor 0.1): one max-reduction per tensor and worker, then the
    /// maximum over workers (under MPI, one all-reduce of the tensors' maxima).
    case adaptive(factor: Float)

    public var description: String {
        switch self {
        case .fixed(let b): return b == 0 ? "no noise" : "noise b = \(b)"
        case .adaptive(let factor): return "adaptive noise b = \(factor)·max|g| per tensor"
        }
    }

    /// Whether any noise is added.
    public var isNone: Bool { self == .fixed(0) }
}

/// Adds `SignNoise` to every worker's slot of a step, per parameter tensor for the adaptive rule.
final class WorkerNoise {
    let noise: SignNoise
    let seed: UInt64
    /// The parameter tensors' lengths, in the flat layout's order.
    let tensorSizes: [Int]
    /// Where the workers live: slot l of a step is worker `group.firstWorker + l`.
    let group: WorkerGroup
    private let device: any Device
    private var bounds: DeviceBuffer?, maxima: DeviceBuffer?
    /// The b of every tensor at the last adaptive step.
    private(set) var lastScales: [Float] = []

    init(device: any Device, noise: SignNoise, seed: UInt64, tensorSizes: [Int], group: WorkerGroup) {
        if case .adaptive(let factor) = noise {
            precondition(factor > 0 && factor.isFinite && !tensorSizes.isEmpty, "adaptive noise needs a factor and tensors")
        }
        self.device = device
        self.noise = noise
        self.seed = seed
        self.tensorSizes = tensorSizes
        self.group = group
    }

    /// The noise stream at `step` of this rank's slot `slot` (the global worker's).
    func key(slot: Int, step: Int) -> PhiloxKey {
        PhiloxKey(seed: seed &+ UInt64(group.firstWorker + slot), step: UInt32(truncatingIfNeeded: step),
                  stream: PhiloxStream.Streams.compression)
    }

    /// b per tensor for this step's slots (adaptive), from one segment max-reduction over every
    /// worker's tensors and one small read-back (and under MPI one all-reduce of the maxima).
    func scales(_ gradients: WorkerGradients) throws -> [Float] {
        guard case .adaptive(let factor) = noise else { preconditionFailure("fixed noise has one scale") }
        precondition(tensorSizes.reduce(0, +) == gradients.parameterCount, "the tensors do not cover the parameters")
        let segments = gradients.workers * tensorSizes.count
        if (bounds?.count ?? 0) != segments + 1 {
            var edges: [Int32] = [0]
            for _ in 0..<gradients.workers {
                for size in tensorSizes { edges.append(edges[edges.count - 1] + Int32(size)) }
            }
            bounds = try device.uploadIndices(edges, below: gradients.workers * gradients.parameterCount + 1)
            maxima = try device.makeBuffer(count: segments)
        }
        guard let bounds, let maxima else { return [] }
        try device.segmentMaxAbs(gradients.slots.slice(0, gradients.workers * gradients.parameterCount),
                                 bounds: bounds.whole, segments: segments, into: maxima.whole)
        let perWorker = try device.download(maxima.whole)
        var maximum = tensorSizes.indices.map { t in
            (0..<gradients.workers).map { perWorker[$0 * tensorSizes.count + t] }.reduce(0) { max($0, $1) }
        }
        if group.isDistributed { maximum = try group.communicator.allReduce(maximum, .maximum) }
        lastScales = maximum.map { factor * $0 }
        return lastScales
    }

    /// Adds the step's noise to every worker's slot in place.
    func add(to gradients: WorkerGradients, step: Int) throws {
        switch noise {
        case .fixed(let b):
            guard b > 0 else { return }
            for worker in 0..<gradients.workers {
                try device.addRandom(gradients.slot(worker), .normal, key: key(slot: worker, step: step), start: .start,
                                     scale: b)
            }
        case .adaptive:
            let scales = try scales(gradients)
            for worker in 0..<gradients.workers {
                var offset = 0
                for (size, b) in zip(tensorSizes, scales) {
                    // Coordinate i still takes normal i: the tensor's stretch of the same stream.
                    try device.addRandom(gradients.slot(worker).slice(offset, size), .normal,
                                         key: key(slot: worker, step: step), start: PhiloxPosition(UInt64(offset)),
                                         scale: b)
                    offset += size
                }
            }
        }
    }
}
