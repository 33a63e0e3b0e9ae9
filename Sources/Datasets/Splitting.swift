#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Philox

/// Train/test splitting.
public enum DataSplit {
    /// A seeded random split: `round(count * testFraction)` rows (at most `count - 1`) go to the
    /// test set, the rest to the training set, each keeping the file order. The permutation comes
    /// from `PhiloxStream(seed: seed, stream: PhiloxStream.Streams.split)`, so a seed gives the
    /// same split on every machine and release. `testFraction` must be in [0, 1).
    public static func split(_ data: Dataset, testFraction: Double, seed: UInt64) -> (train: Dataset, test: Dataset) {
        let (train, test) = indices(count: data.count, testFraction: testFraction, seed: seed)
        return (data.subset(train), data.subset(test))
    }

    /// The row indices of `split`: (train, test), each ascending.
    public static func indices(count: Int, testFraction: Double, seed: UInt64) -> (train: [Int], test: [Int]) {
        precondition(testFraction >= 0 && testFraction < 1, "testFraction must be in [0, 1), not \(testFraction)")
        let testCount = min(max(count - 1, 0), Int((Double(count) * testFraction).rounded()))
        var order = Array(0..<count)
        var rng = PhiloxStream(seed: seed, stream: PhiloxStream.Streams.split)
        philoxShuffle(&order, using: &rng)
        let test = order[..<testCount].sorted()
        let train = order[testCount...].sorted()
        return (train, test)
    }
}

/// How the rows of a data set are divided among `parts` workers or federated clients.
public enum Partitioning: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Uniformly at random, part sizes differing by at most one.
    case iid
    /// Each part holds rows of at most K classes ("pathological non-IID", McMahan et al. 2017).
    case byClass(Int)
    /// Per class, shares drawn from a symmetric Dirichlet(alpha) over the parts: a small alpha
    /// gives each part a few dominant classes, a large one approaches iid (Hsu et al. 2019).
    case dirichlet(Double)

    /// Parses "iid", "by-class:K" (K ≥ 1) or "dirichlet:ALPHA" (ALPHA > 0, finite).
    public init?(argument: String) {
        let text = argument.lowercased()
        if text == "iid" {
            self = .iid
            return
        }
        if text.hasPrefix("by-class:") {
            guard let k = Int(text.dropFirst("by-class:".count)), k >= 1 else { return nil }
            self = .byClass(k)
            return
        }
        if text.hasPrefix("dirichlet:") {
            guard let alpha = Double(text.dropFirst("dirichlet:".count)), alpha.isFinite, alpha > 0
            else { return nil }
            self = .dirichlet(alpha)
            return
        }
        return nil
    }

    /// The argument form ("iid", "by-class:2", "dirichlet:0.5").
    public var description: String {
        switch self {
        case .iid: return "iid"
        case .byClass(let k): return "by-class:\(k)"
        case .dirichlet(let alpha): return "dirichlet:\(alpha)"
        }
    }

    /// Nil when this partitioning can be honoured for `classCount` classes and `parts` parts,
    /// else why not (by-class:K needs parts × K ≥ classCount so that every class has a home).
    public func problem(classCount: Int, parts: Int) -> String? {
        if parts < 1 { return "the number of parts must be at least 1, not \(parts)" }
        if case .byClass(let k) = self, parts * k < classCount {
            return "by-class:\(k) with \(parts) parts covers at most \(parts * k) of the "
                + "\(classCount) classes; use more parts or a larger K"
        }
        return nil
    }

    /// Row indices for each of `parts` parts: every index of `labels` is in exactly one part,
    /// each part ascending. Parts may be empty when there are few rows (or, for dirichlet, with a
    /// small alpha). Randomness comes from `PhiloxStream(seed: seed, stream: .partition)`.
    /// For `byClass(K)` with `parts * K < classCount` each part gets `ceil(classCount / parts)`
    /// classes instead (see `problem(classCount:parts:)`). `parts` must be at least 1.
    public func partition(labels: [Int32], classCount: Int, parts: Int, seed: UInt64) -> [[Int]] {
        precondition(parts >= 1, "Partitioning: parts must be at least 1")
        var rng = PhiloxStream(seed: seed, stream: PhiloxStream.Streams.partition)
        var result = [[Int]](repeating: [], count: parts)
        // Rows of each class, in file order; labels outside 0..<classCount form an extra group.
        let groupCount = max(classCount, 0) + 1
        var byClass = [[Int]](repeating: [], count: groupCount)
        for (row, label) in labels.enumerated() {
            let group = label >= 0 && Int(label) < classCount ? Int(label) : classCount
            byClass[group].append(row)
        }

        switch self {
        case .iid:
            var order = Array(labels.indices)
            philoxShuffle(&order, using: &rng)
            var start = 0
            for p in 0..<parts {
                let size = order.count / parts + (p < order.count % parts ? 1 : 0)
                result[p] = order[start..<(start + size)].sorted()
                start += size
            }

        case .byClass(let requested):
            // Part p takes the K consecutive classes starting at p·K of a random cyclic class
            // order: K distinct classes per part, and together the windows cover every class
            // (parts·K ≥ classes). Each class's rows are then split evenly among its holders.
            let present = (0..<groupCount).filter { !byClass[$0].isEmpty }
            guard !present.isEmpty else { break }
            let k = max(requested, (present.count + parts - 1) / parts, 1)
            var classOrder = present
            philoxShuffle(&classOrder, using: &rng)
            var holders = [[Int]](repeating: [], count: groupCount)
            let perPart = min(k, present.count)
            for part in 0..<parts {
                for j in 0..<perPart {
                    holders[classOrder[(part * perPart + j) % classOrder.count]].append(part)
                }
            }
            for group in present {
                var rows = byClass[group]
                philoxShuffle(&rows, using: &rng)
                let owners = holders[group]
                var start = 0
                for (n, part) in owners.enumerated() {
                    let size = rows.count / owners.count + (n < rows.count % owners.count ? 1 : 0)
                    result[part].append(contentsOf: rows[start..<(start + size)])
                    start += size
                }
            }
            for p in 0..<parts { result[p].sort() }

        case .dirichlet(let alpha):
            let a = alpha.isFinite && alpha > 0 ? alpha : 1
            for group in 0..<groupCount where !byClass[group].isEmpty {
                var rows = byClass[group]
                philoxShuffle(&rows, using: &rng)
                // Shares ∝ Gamma(alpha) draws, kept as logarithms so tiny alphas cannot underflow.
                var logs = [Double](repeating: 0, count: parts)
                for p in 0..<parts { logs[p] = Self.logGamma(shape: a, using: &rng) }
                let top = logs.max() ?? 0
                var shares = logs.map { exp($0 - top) }
                let total = shares.reduce(0, +)
                for p in 0..<parts { shares[p] /= total }
                // Cumulative rounding: every row is assigned exactly once.
                var cumulative = 0.0
                var start = 0
                for p in 0..<parts {
                    cumulative += shares[p]
                    let end = p == parts - 1
                        ? rows.count : min(rows.count, max(start, Int((cumulative * Double(rows.count)).rounded())))
                    result[p].append(contentsOf: rows[start..<end])
                    start = end
                }
            }
            for p in 0..<parts { result[p].sort() }
        }
        return result
    }

    /// log of a Gamma(shape, 1) draw: Marsaglia–Tsang for shape ≥ 1; for shape < 1,
    /// Gamma(shape) = Gamma(shape + 1) · U^(1/shape), i.e. log G + log(U) / shape.
    static func logGamma(shape: Double, using rng: inout PhiloxStream) -> Double {
        if shape < 1 {
            return logGamma(shape: shape + 1, using: &rng) + log(rng.nextDouble()) / shape
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = Double(rng.nextNormal())
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = rng.nextDouble()
            if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) {
                return log(d * v)
            }
        }
    }
}
