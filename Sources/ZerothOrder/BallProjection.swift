/// Projection onto the ℓ2 ball {x : ‖x − c‖ ≤ r}, in the Euclidean metric or in ZO-AdaMM's
/// diagonal one: ZO-AdaMM's step must be projected as Π_{X,√V̂}(a) = argmin_{x∈X} ‖V̂^{1/4}(x − a)‖²
/// (Chen et al., NeurIPS 2019: a Euclidean projection may not converge). For a ball that is
///
///     x_i = c_i + (a_i − c_i)·w_i/(w_i + λ),   w_i = √v̂_i,
///
/// with λ ≥ 0 the root of ‖x − c‖ = r (zero when a is inside), found by bisection: the norm
/// falls monotonically in λ. With all w_i equal it is the Euclidean scaling c + r(a − c)/‖a − c‖.
public enum BallProjection {
    /// The projection of `point` onto the ball of `radius` around `centre` (same length), in the
    /// metric of `weights` (w_i = √v̂_i > 0; nil for the Euclidean one).
    public static func project(_ point: [Float], centre: [Float], radius: Float, weights: [Float]? = nil) -> [Float] {
        precondition(point.count == centre.count && (weights?.count ?? point.count) == point.count && radius >= 0,
                     "point, centre and weights of one length and a non-negative radius")
        let offset = zip(point, centre).map { Double($0) - Double($1) }
        let norm = offset.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let r = Double(radius)
        guard norm > r else { return point }
        guard let weights else {
            return zip(centre, offset).map { Float(Double($0) + $1 * r / norm) }
        }
        let w = weights.map { max(Double($0), Double(Float.leastNormalMagnitude)) }
        func length(_ lambda: Double) -> Double {
            zip(offset, w).reduce(0.0) { sum, pair in
                let shrunk = pair.0 * pair.1 / (pair.1 + lambda)
                return sum + shrunk * shrunk
            }.squareRoot()
        }
        // Bracket: at λ = max(w)·(norm/r − 1) every factor is at most r/norm, so the length ≤ r.
        var low = 0.0, high = (w.max() ?? 1) * (norm / r - 1) + 1e-30
        for _ in 0..<200 where high - low > 1e-14 * max(high, 1e-30) {
            let mid = (low + high) / 2
            if length(mid) > r { low = mid } else { high = mid }
        }
        return (0..<point.count).map { Float(Double(centre[$0]) + offset[$0] * w[$0] / (w[$0] + high)) }
    }
}
