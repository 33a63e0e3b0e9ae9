/// Euclidean projection onto the probability simplex {w : Σ w_i = 1, 0 ≤ w_i ≤ upper}, by
/// bisection on the shift τ with Σ_i clip(a_i − τ, 0, upper) = 1 (ZO-Min-Max's `bisection()`,
/// zo.md §6); the result is clip(a − τ, 0, upper). Host-side: the simplex of ensemble weights has
/// a handful of coordinates.
public enum SimplexProjection {
    /// The projection of `a` (non-empty; `upper` · count ≥ 1 so the set is not empty).
    /// - Parameter tolerance: the bisection stops when the bracket on τ is narrower.
    public static func project(_ a: [Double], upper: Double = 1, tolerance: Double = 1e-12) -> [Double] {
        precondition(!a.isEmpty && upper > 0 && upper * Double(a.count) >= 1, "an empty simplex")
        func mass(_ tau: Double) -> Double { a.reduce(0) { $0 + min(max($1 - tau, 0), upper) } }
        // The mass is non-increasing in τ: at min(a) − 1 every term is at least min(1, upper), so
        // the sum is at least 1 (upper·count ≥ 1); at max(a) it is 0.
        var low = (a.min() ?? 0) - 1, high = a.max() ?? 0
        // At most 200 halvings: past |a| ≈ 8192 the spacing of doubles exceeds a tight tolerance.
        for _ in 0..<200 where high - low > tolerance {
            let mid = (low + high) / 2
            if mass(mid) > 1 { low = mid } else { high = mid }
        }
        let tau = (low + high) / 2
        return a.map { min(max($0 - tau, 0), upper) }
    }
}
