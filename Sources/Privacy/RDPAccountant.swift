/// A privacy accountant in Rényi DP for DP-SGD with Poisson sampling: the history of
/// (noise multiplier σ, sample rate q, steps) and the (ε, δ) it spends, with Opacus's
/// semantics (`opacus.accountants.RDPAccountant`): its default orders, its merging of equal
/// consecutive entries, and the Balle et al. (2020, Thm 21) conversion
/// ε = min_α [RDP(α) − (log δ + log α)/(α − 1) + log((α − 1)/α)].
///
/// ```swift
/// var accountant = RDPAccountant()
/// accountant.step(noiseMultiplier: 1.3, sampleRate: 150.0 / 60000, steps: 6000)
/// let (epsilon, order) = accountant.epsilon(delta: 1e-5)   // 0.7242… at α = 19
/// ```
public struct RDPAccountant: Sendable, Hashable, Codable {
    /// One stretch of identical steps.
    public struct Entry: Sendable, Hashable, Codable {
        public var noiseMultiplier: Double
        public var sampleRate: Double
        public var steps: Int
    }

    /// Opacus's `DEFAULT_ALPHAS`: 1.1, 1.2, …, 10.9, then 12, …, 63 (α = 11 is not among them).
    public static let defaultOrders: [Double] = (1..<100).map { 1 + Double($0) / 10 } + (12..<64).map(Double.init)

    /// The steps taken, equal consecutive ones merged.
    public private(set) var history: [Entry] = []
    /// The Rényi orders ε is minimised over.
    public let orders: [Double]

    public init(orders: [Double] = RDPAccountant.defaultOrders) {
        precondition(!orders.isEmpty && orders.allSatisfy { $0 > 1 }, "Rényi orders must exceed 1")
        self.orders = orders
    }

    /// Records `steps` steps at noise multiplier σ and sample rate q.
    public mutating func step(noiseMultiplier: Double, sampleRate: Double, steps: Int = 1) {
        precondition(noiseMultiplier >= 0 && sampleRate >= 0 && sampleRate <= 1 && steps >= 0, "bad accounting step")
        if let last = history.last, last.noiseMultiplier == noiseMultiplier, last.sampleRate == sampleRate {
            history[history.count - 1].steps += steps
        } else {
            history.append(Entry(noiseMultiplier: noiseMultiplier, sampleRate: sampleRate, steps: steps))
        }
    }

    /// The history as text, `σ:q:steps` per entry, comma-separated, every number as Swift
    /// prints it (which reads back to the same bits): what checkpoints store.
    public var historyText: String {
        history.map { "\($0.noiseMultiplier):\($0.sampleRate):\($0.steps)" }.joined(separator: ",")
    }

    /// An accountant over `orders` whose history is `historyText` (empty: none).
    /// - Throws: `PrivacyError.badHistory` when the text is not such a history.
    public init(historyText: String, orders: [Double] = RDPAccountant.defaultOrders) throws(PrivacyError) {
        self.init(orders: orders)
        for entry in historyText.split(separator: ",") {
            let fields = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 3, let sigma = Double(fields[0]), let rate = Double(fields[1]),
                  let steps = Int(fields[2]), sigma >= 0, rate >= 0, rate <= 1, steps >= 0 else {
                throw PrivacyError.badHistory(String(entry))
            }
            step(noiseMultiplier: sigma, sampleRate: rate, steps: steps)
        }
    }

    /// The most further steps, at most `limit`, at noise multiplier σ and rate q after which ε at
    /// δ is still at most `maxEpsilon` (0 when even the history alone exceeds it). ε grows with
    /// every step, so a bisection finds it.
    public func stepsAllowed(maxEpsilon: Double, delta: Double, noiseMultiplier: Double, sampleRate: Double,
                             limit: Int, accountant: AccountantKind = .rdp) -> Int {
        func fits(_ steps: Int) -> Bool {
            var trial = self
            trial.step(noiseMultiplier: noiseMultiplier, sampleRate: sampleRate, steps: steps)
            return accountant.epsilon(trial, delta: delta).epsilon <= maxEpsilon
        }
        guard fits(0) else { return 0 }
        if fits(limit) { return limit }
        var low = 0, high = limit   // fits(low), not fits(high)
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if fits(middle) { low = middle } else { high = middle }
        }
        return low
    }

    /// Steps recorded in all.
    public var steps: Int { history.reduce(0) { $0 + $1.steps } }

    /// RDP of the whole history at each of `orders`.
    public var rdp: [Double] {
        orders.map { alpha in
            history.reduce(0) {
                $0 + SubsampledGaussian.rdp(sampleRate: $1.sampleRate, noiseMultiplier: $1.noiseMultiplier,
                                            steps: $1.steps, order: alpha)
            }
        }
    }

    /// The ε spent at δ and the order that gives it; (∞, nil) when no order gives a finite ε.
    public func epsilon(delta: Double) -> (epsilon: Double, order: Double?) {
        // No step, no loss (the conversion alone would give a small positive ε); Opacus says 0 too.
        guard steps > 0 else { return (0, nil) }
        return Self.epsilon(rdp: rdp, orders: orders, delta: delta)
    }

    /// The Balle et al. conversion of an RDP curve to (ε, δ), minimised over the orders
    /// (NaNs skipped).
    public static func epsilon(rdp: [Double], orders: [Double], delta: Double) -> (epsilon: Double, order: Double?) {
        precondition(delta > 0 && delta < 1 && rdp.count == orders.count, "bad conversion arguments")
        var best = (epsilon: Double.infinity, order: Double?.none)
        for (r, alpha) in zip(rdp, orders) {
            let epsilon = r - (log(delta) + log(alpha)) / (alpha - 1) + log((alpha - 1) / alpha)
            if epsilon.isNaN { continue }
            if epsilon < best.epsilon { best = (epsilon, alpha) }
        }
        return (max(best.epsilon, 0), best.order)
    }

    /// Opacus's `get_noise_multiplier`: the smallest noise multiplier found by doubling then
    /// bisection whose ε at δ over `steps` steps at rate q is at most `targetEpsilon` and within
    /// `tolerance` of it (the conservative end of the bracket).
    /// - Throws: `PrivacyError.budgetTooSmall` when even σ = 10⁶ spends more than the target.
    public static func noiseMultiplier(targetEpsilon: Double, delta: Double, sampleRate: Double, steps: Int,
                                       orders: [Double] = defaultOrders, tolerance: Double = 0.01,
                                       accountant: AccountantKind = .rdp) throws(PrivacyError) -> Double {
        try RDPAccountant(orders: orders).noiseMultiplier(targetEpsilon: targetEpsilon, delta: delta,
                                                          sampleRate: sampleRate, steps: steps, tolerance: tolerance,
                                                          accountant: accountant)
    }

    /// The same search for `steps` further steps after this accountant's history, so that the
    /// whole history spends at most `targetEpsilon` (a resumed run's remaining steps), with ε
    /// from `accountant` (RDP by default; PRV evaluates its upper bound at every trial σ).
    /// - Throws: `PrivacyError.budgetTooSmall` when even σ = 10⁶ for the further steps spends
    ///   more than the target.
    public func noiseMultiplier(targetEpsilon: Double, delta: Double, sampleRate: Double, steps: Int,
                                tolerance: Double = 0.01, accountant: AccountantKind = .rdp) throws(PrivacyError) -> Double {
        precondition(targetEpsilon > 0 && tolerance > 0, "the target ε and tolerance must be positive")
        func epsilon(_ sigma: Double) -> Double {
            var trial = self
            trial.step(noiseMultiplier: sigma, sampleRate: sampleRate, steps: steps)
            return accountant.epsilon(trial, delta: delta).epsilon
        }
        var low = 0.0, high = 10.0, highEpsilon = Double.infinity
        while highEpsilon > targetEpsilon {
            high *= 2
            highEpsilon = epsilon(high)
            if high > 1e6 { throw PrivacyError.budgetTooSmall(targetEpsilon: targetEpsilon, delta: delta) }
        }
        // Capped: ε(σ) may jump (PRV falls back to RDP past its limits), and then no σ lands
        // within the tolerance; `high` always keeps ε ≤ target.
        var iterations = 0
        while targetEpsilon - highEpsilon > tolerance && iterations < 100 && high - low > 1e-9 * high {
            iterations += 1
            let sigma = (low + high) / 2
            let e = epsilon(sigma)
            if e < targetEpsilon {
                high = sigma
                highEpsilon = e
            } else {
                low = sigma
            }
        }
        return high
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Privacy requests that cannot be met.
public enum PrivacyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No noise multiplier up to 10⁶ reaches the target.
    case budgetTooSmall(targetEpsilon: Double, delta: Double)
    /// A stored accountant history entry that does not read as `σ:q:steps`.
    case badHistory(String)

    public var description: String {
        switch self {
        case .budgetTooSmall(let epsilon, let delta):
            return "the privacy budget is too small: no noise multiplier up to 1e6 reaches ε = \(epsilon) at δ = \(delta)"
        case .badHistory(let entry):
            return "the accountant history entry '\(entry)' is not σ:q:steps"
        }
    }
}
