/// How features are rescaled before training.
public enum FeatureScaling: String, Sendable, CaseIterable {
    /// Unchanged.
    case none
    /// Min-max to [0, 1] over the training data; a constant feature becomes 0. Per feature, except
    /// for images, whose pixels share one range per channel (as x/255 does for 8-bit images):
    /// per-pixel ranges would blow up the noise of pixels that are almost always dark.
    case unit
    /// Zero mean and unit variance over the training data; a constant feature is only centred.
    /// Per feature, or per channel for images.
    case standardize
}

/// A per-feature affine map `x' = (x - offset) * scale`, fitted on the training split and then
/// applied unchanged to every other split. `offset` and `scale` are public so that a caller can
/// keep them with a trained model.
public struct FeatureScaler: Sendable, Equatable {
    /// The scaling the statistics were fitted for; `.none` leaves features untouched.
    public let mode: FeatureScaling
    /// Subtracted from each feature.
    public let offset: [Float]
    /// Then multiplied in.
    public let scale: [Float]

    /// Statistics of `fitting` (the training split only) for `mode`.
    public init(fitting data: Dataset, mode: FeatureScaling) {
        let n = data.featureCount
        self.mode = mode
        guard mode != .none, data.count > 0, n > 0 else {
            offset = [Float](repeating: 0, count: max(n, 0))
            scale = [Float](repeating: 1, count: max(n, 0))
            return
        }
        var offset = [Float](repeating: 0, count: n)
        var scale = [Float](repeating: 1, count: n)
        switch mode {
        case .none:
            break
        case .unit:
            var low = [Float](repeating: .infinity, count: n)
            var high = [Float](repeating: -.infinity, count: n)
            data.features.withUnsafeBufferPointer { x in
                for r in 0..<data.count {
                    let base = r * n
                    for j in 0..<n {
                        let v = x[base + j]
                        if v < low[j] { low[j] = v }
                        if v > high[j] { high[j] = v }
                    }
                }
            }
            for group in Self.groups(of: data) {
                let groupLow = group.map { low[$0] }.min() ?? 0
                let groupHigh = group.map { high[$0] }.max() ?? 0
                for j in group {
                    low[j] = groupLow
                    high[j] = groupHigh
                }
            }
            for j in 0..<n {
                offset[j] = low[j]
                let range = Double(high[j]) - Double(low[j])
                let inverse = range > 0 ? Float(1 / range) : 0
                scale[j] = inverse.isFinite ? inverse : 0
            }
        case .standardize:
            // Two passes in Double: the mean, then the centred sum of squares.
            var mean = [Double](repeating: 0, count: n)
            var squares = [Double](repeating: 0, count: n)
            data.features.withUnsafeBufferPointer { x in
                for r in 0..<data.count {
                    let base = r * n
                    for j in 0..<n { mean[j] += Double(x[base + j]) }
                }
                for j in 0..<n { mean[j] /= Double(data.count) }
                for r in 0..<data.count {
                    let base = r * n
                    for j in 0..<n {
                        let d = Double(x[base + j]) - mean[j]
                        squares[j] += d * d
                    }
                }
            }
            for group in Self.groups(of: data) {
                // Pooled moments: E[x] and E[x²] − E[x]² over every value of the group.
                let groupMean = group.reduce(0.0) { $0 + mean[$1] } / Double(group.count)
                let groupSecond = group.reduce(0.0) { $0 + squares[$1] / Double(data.count) + mean[$1] * mean[$1] }
                    / Double(group.count)
                for j in group {
                    mean[j] = groupMean
                    squares[j] = max(groupSecond - groupMean * groupMean, 0) * Double(data.count)
                }
            }
            for j in 0..<n {
                offset[j] = Float(mean[j])
                let std = (squares[j] / Double(data.count)).squareRoot()
                let inverse = Float(1 / std)
                scale[j] = std > 0 && inverse.isFinite ? inverse : 1
            }
        }
        self.offset = offset
        self.scale = scale
    }

    /// Features that share statistics: one channel's pixels for image data (channel-major
    /// layout), else each feature alone.
    static func groups(of data: Dataset) -> [Range<Int>] {
        if let image = data.imageShape, image.elementCount == data.featureCount, image.channels > 0 {
            let plane = image.height * image.width
            return (0..<image.channels).map { $0 * plane..<($0 + 1) * plane }
        }
        return (0..<data.featureCount).map { $0..<($0 + 1) }
    }

    /// A scaler from stored statistics (a checkpoint). `offset` and `scale` must have equal length.
    public init(mode: FeatureScaling, offset: [Float], scale: [Float]) {
        precondition(offset.count == scale.count, "FeatureScaler: offset and scale lengths differ")
        self.mode = mode
        self.offset = offset
        self.scale = scale
    }

    /// Number of features this scaler was fitted on.
    public var featureCount: Int { offset.count }

    /// `data` with every row scaled. Its feature count must be the fitted one.
    public func apply(to data: Dataset) -> Dataset {
        var result = data
        result.features = apply(features: data.features)
        return result
    }

    /// Row-major features (any number of rows of `featureCount` values) scaled.
    public func apply(features: [Float]) -> [Float] {
        if mode == .none { return features }
        let n = offset.count
        precondition(n > 0 && features.count % n == 0,
                     "FeatureScaler: \(features.count) values are not rows of \(n) features")
        var out = features
        out.withUnsafeMutableBufferPointer { x in
            offset.withUnsafeBufferPointer { o in
                scale.withUnsafeBufferPointer { s in
                    var base = 0
                    while base < x.count {
                        // In Double and clamped: (3e38 − (−3e38)) overflows Float although both
                        // inputs are finite, and an infinite feature would read as divergence.
                        for j in 0..<n {
                            let scaled = (Double(x[base + j]) - Double(o[j])) * Double(s[j])
                            x[base + j] = Float(min(max(scaled, -Double(Float.greatestFiniteMagnitude)),
                                                    Double(Float.greatestFiniteMagnitude)))
                        }
                        base += n
                    }
                }
            }
        }
        return out
    }
}
