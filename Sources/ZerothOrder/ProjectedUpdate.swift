import Compute

/// One projected step of a stored estimate ĝ (ZO-SGD, ZO-signSGD or ZO-AdaMM) and ZO-AdaMM's
/// moments, the update that training (`ZerothOrderGradient`) and minimisation (`ZOMinimizer`)
/// share.
final class ProjectedUpdate {
    let device: any Device
    let optimizer: ZOOptimizer
    /// Elements of x and ĝ.
    let count: Int
    /// ZO-AdaMM's m, v and v̂, slot-major (count floats each); nil for the other rules.
    let state: DeviceBuffer?

    /// An update of `count` elements; ZO-AdaMM starts at m = 0 and v = v̂ = 1e-7, the reference
    /// code's start, which stands in for Adam's ε.
    init(device: any Device, optimizer: ZOOptimizer, count: Int) throws {
        self.device = device
        self.optimizer = optimizer
        self.count = count
        if optimizer.kind == .adamm {
            let state = try device.makeBuffer(count: bufferSize(3, count))
            try device.fill(state.slice(0, count), with: 0)
            try device.fill(state.slice(count, 2 * count), with: 1e-7)
            self.state = state
        } else {
            state = nil
        }
    }

    /// v̂, ZO-AdaMM's metric, when the rule keeps it.
    var maxSecondMoment: BufferSlice? { state?.slice(2 * count, count) }

    /// x ← Π(x − rate·step(g)) at the rule's betas, clipped to `bounds` when given.
    func apply(x: BufferSlice, g: BufferSlice, rate: Float, bounds: (lower: BufferSlice, upper: BufferSlice)?) throws {
        let n = count
        // The other rules read no moments; any slices of the right size stand in.
        let moments = state.map { s in (s.slice(0, n), s.slice(n, n), s.slice(2 * n, n)) } ?? (g, g, g)
        try device.zoProjectedStep(
            ZOProjectedStep(optimizer.kind.method, rate: rate, beta1: optimizer.beta1, beta2: optimizer.beta2),
            x: x, g: g, m: moments.0, v: moments.1, vhat: moments.2, bounds: bounds)
    }

    /// The moments a checkpoint holds (empty for the rules without).
    func snapshot() throws -> [Float] {
        try state.map { try device.download($0.whole) } ?? []
    }

    func restore(_ saved: [Float]) throws {
        guard let state else {
            precondition(saved.isEmpty, "\(optimizer.kind.rawValue) keeps no state")
            return
        }
        precondition(saved.count == state.count, "ZO-AdaMM state of \(saved.count) floats for \(state.count)")
        try device.write(saved, to: state.whole)
    }

    /// Floats `snapshot()` returns.
    var stateCount: Int { state?.count ?? 0 }
}
