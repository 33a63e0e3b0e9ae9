import Compute
import Philox

/// Perturbed clipping (Chen, Wu and Hong, NeurIPS 2020): each per-sample gradient gets K·ζ_i,
/// ζ_i ~ N(0, I) drawn afresh for every example and step, before its norm is taken and it is
/// clipped. The guarantee is unchanged (a clipped vector's norm is still at most C and the DP
/// noise is calibrated to C); the perturbation makes the per-sample gradients' distribution more
/// symmetric, which removes the clipping bias that can stall DP-SGD away from a stationary point
/// (their Example 2: two samples at ±3, C = 1, every x in [−2, 2] has clipped gradient 0).
///
/// ζ is Philox stream (seed, step, `Streams.clipPerturbation`): element j of sample i's part
/// `slot` (one parameter tensor, `width` values per sample) is normal number
/// slot·2⁴⁰ + i·width + j, with i counted in the step's logical batch. A tensor's
/// samples × width block is then one contiguous fill, and micro-batches draw exactly what the
/// whole batch would, on every device.
public struct ClipPerturbation: Sendable, Hashable {
    /// K, the perturbation's standard deviation per coordinate.
    public let scale: Float
    /// The seed of the perturbation stream.
    public let seed: UInt64

    public init(scale: Float, seed: UInt64) {
        precondition(scale > 0 && scale.isFinite, "the perturbation scale must be positive")
        self.scale = scale
        self.seed = seed
    }

    /// Adds K·ζ to `perSample` (samples × width floats, row-major), the per-sample parts `slot`
    /// of samples `firstSample ..< firstSample + samples` of step `step`'s batch.
    public func perturb(_ perSample: BufferSlice, samples: Int, width: Int, firstSample: Int, slot: Int, step: Int,
                        on device: any Device) throws {
        precondition(perSample.count == samples * width && slot >= 0 && slot < 1 << 23 && firstSample >= 0,
                     "bad perturbation block")
        let key = PhiloxKey(seed: seed, step: UInt32(truncatingIfNeeded: step),
                            stream: PhiloxStream.Streams.clipPerturbation)
        let start = UInt64(slot) << 40 + UInt64(firstSample) * UInt64(width)
        try device.addRandom(perSample, .normal, key: key, start: PhiloxPosition(start), scale: scale)
    }

    /// The value `perturb` adds to element j of sample i's part `slot` at step `step` (the
    /// host-side reference).
    public func value(slot: Int, sample: Int, element: Int, width: Int, step: Int) -> Float {
        let key = PhiloxKey(seed: seed, step: UInt32(truncatingIfNeeded: step),
                            stream: PhiloxStream.Streams.clipPerturbation)
        return scale * key.normal(UInt64(slot) << 40 + UInt64(sample) * UInt64(width) + UInt64(element))
    }
}
