#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rényi differential privacy of the Poisson-subsampled Gaussian mechanism (Mironov, Talwar and
/// Zhang, "Rényi Differential Privacy of the Sampled Gaussian Mechanism", arXiv 1908.10530,
/// §3.3), under add/remove-one neighbouring, as Opacus and TF Privacy compute it: one step
/// samples each example with probability q and adds N(0, σ²C²) to the sum of clipped gradients.
public enum SubsampledGaussian {
    /// RDP at order `alpha` of `steps` compositions: steps · log(A_α) / (α − 1).
    ///
    /// Special cases in Opacus's order: q = 0 → 0; σ = 0 → ∞; q = 1 (no subsampling) →
    /// steps·α/(2σ²); α = ∞ → ∞. Integer orders use the exact binomial sum, fractional ones
    /// the signed series of §3.3 (which matches high-precision integration, unlike
    /// dp_accounting 0.6's unsigned one).
    public static func rdp(sampleRate q: Double, noiseMultiplier sigma: Double, steps: Int, order alpha: Double) -> Double {
        precondition(q >= 0 && q <= 1 && sigma >= 0 && steps >= 0 && alpha > 1, "bad RDP arguments")
        if q == 0 { return 0 }
        if sigma == 0 { return .infinity }
        if q == 1 { return Double(steps) * alpha / (2 * sigma * sigma) }
        if alpha.isInfinite { return .infinity }
        let logA = alpha.rounded() == alpha ? logAInteger(q: q, sigma: sigma, alpha: Int(alpha))
            : logAFractional(q: q, sigma: sigma, alpha: alpha)
        return Double(steps) * logA / (alpha - 1)
    }

    /// log A_α = logsumexp_{i=0..α} [log C(α, i) + i·log q + (α − i)·log(1 − q) + (i² − i)/(2σ²)].
    static func logAInteger(q: Double, sigma: Double, alpha: Int) -> Double {
        var result = -Double.infinity
        let a = Double(alpha)
        for i in 0...alpha {
            let d = Double(i)
            let logBinomial = lgamma(a + 1) - lgamma(d + 1) - lgamma(a - d + 1)
            let term = logBinomial + d * log(q) + (a - d) * log1p(-q) + (d * d - d) / (2 * sigma * sigma)
            result = logAdd(result, term)
        }
        return result
    }

    /// The fractional-order series: two sums of signed terms with real binomial coefficients,
    /// until both terms fall below e^−30.
    static func logAFractional(q: Double, sigma: Double, alpha: Double) -> Double {
        var logA0 = -Double.infinity, logA1 = -Double.infinity
        let z0 = sigma * sigma * log(1 / q - 1) + 0.5
        var coefficient = 1.0
        var i = 0.0
        while true {
            let j = alpha - i
            let logCoefficient = log(abs(coefficient))
            let logS0 = logCoefficient + i * log(q) + j * log1p(-q) + (i * i - i) / (2 * sigma * sigma)
                + log(0.5) + logErfc((i - z0) / (2.0.squareRoot() * sigma))
            let logS1 = logCoefficient + j * log(q) + i * log1p(-q) + (j * j - j) / (2 * sigma * sigma)
                + log(0.5) + logErfc((z0 - j) / (2.0.squareRoot() * sigma))
            if coefficient > 0 {
                logA0 = logAdd(logA0, logS0)
                logA1 = logAdd(logA1, logS1)
            } else {
                logA0 = logSubtract(logA0, logS0)
                logA1 = logSubtract(logA1, logS1)
            }
            if max(logS0, logS1) < -30 || i > 10_000 { break }
            coefficient *= (alpha - i) / (i + 1)
            i += 1
        }
        return logAdd(logA0, logA1)
    }

    /// log(e^x + e^y), exact at −∞.
    static func logAdd(_ x: Double, _ y: Double) -> Double {
        let (high, low) = x > y ? (x, y) : (y, x)
        if low == -.infinity { return high }
        return high + log1p(exp(low - high))
    }

    /// log(e^x − e^y) for x ≥ y (−∞ when equal).
    static func logSubtract(_ x: Double, _ y: Double) -> Double {
        if y == -.infinity { return x }
        if x <= y { return -.infinity }
        let difference = x - y
        // expm1 overflows for large differences, where log(e^x − e^y) is x to double precision.
        return difference > 700 ? x : log(expm1(difference)) + y
    }

    /// log(erfc(x)), accurate where erfc underflows (x above about 26): there the asymptotic
    /// series erfc(x) ≈ e^(−x²)/(x√π) · (1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶)).
    static func logErfc(_ x: Double) -> Double {
        if x < 10 { return log(erfc(x)) }
        let x2 = x * x
        let series = 1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2)
        return -x2 - log(x) - 0.5 * log(Double.pi) + log(series)
    }
}
