import Datasets
import Philox
import Testing

@Suite struct ScalingTests {
    let train = Dataset(features: [0, 10, 5, 2, 10, 5, 4, 10, 5], labels: [0, 1, 0], featureCount: 3,
                        classes: ["a", "b"])
    let test = Dataset(features: [8, 5, 5, -2, 10, 6], labels: [1, 0], featureCount: 3,
                       classes: ["a", "b"])

    @Test("values near ±Float.max scale to finite values (the difference overflows Float)")
    func extremeValuesStayFinite() {
        let extreme = Dataset(features: [3e38, -3e38, 1, -3e38, 3e38, 2], labels: [0, 1], featureCount: 3,
                              classes: ["a", "b"])
        for mode in [FeatureScaling.unit, .standardize] {
            let scaled = FeatureScaler(fitting: extreme, mode: mode).apply(to: extreme)
            #expect(scaled.features.allSatisfy { $0.isFinite }, "\(mode): \(scaled.features)")
        }
        let unit = FeatureScaler(fitting: extreme, mode: .unit).apply(to: extreme).features
        // The scale 1/6e38 is a subnormal Float, so the top value lands near, not on, 1.
        #expect(abs(unit[0] - 1) < 1e-3 && unit[3] == 0, "\(unit)")
    }

    @Test func unitUsesTrainingMinMax() {
        let scaler = FeatureScaler(fitting: train, mode: .unit)
        #expect(scaler.offset == [0, 10, 5])
        #expect(scaler.scale == [0.25, 0, 0])
        #expect(scaler.apply(to: train).features == [0, 0, 0, 0.5, 0, 0, 1, 0, 0])
        // Test rows use the training statistics, so they may leave [0, 1].
        #expect(scaler.apply(to: test).features == [2, 0, 0, -0.5, 0, 0])
        #expect(scaler.apply(to: test).labels == test.labels)
    }

    @Test func standardizeUsesTrainingMeanAndStd() {
        let scaler = FeatureScaler(fitting: train, mode: .standardize)
        // Feature 0: mean 2, population std sqrt(8/3); features 1, 2 constant: only centred.
        let inverseStd = Float(1 / (8.0 / 3.0).squareRoot())
        #expect(scaler.offset == [2, 10, 5])
        #expect(scaler.scale == [inverseStd, 1, 1])
        let scaled = scaler.apply(to: train).features
        #expect(abs(scaled[0] + scaled[3] + scaled[6]) < 1e-6)
        #expect(abs(scaled[0] * scaled[0] + scaled[3] * scaled[3] + scaled[6] * scaled[6] - 3) < 1e-5)
        let t = scaler.apply(to: test).features
        #expect(abs(t[0] - 6 * inverseStd) < 1e-6)
        #expect(t[1] == -5 && t[2] == 0 && t[4] == 0 && t[5] == 1)
    }

    @Test func noneIsIdentity() {
        let scaler = FeatureScaler(fitting: train, mode: .none)
        #expect(scaler.apply(to: test).features == test.features)
        let restored = FeatureScaler(mode: .unit, offset: [0, 10, 5], scale: [0.25, 0, 0])
        #expect(restored == FeatureScaler(fitting: train, mode: .unit))
        #expect(FeatureScaling.allCases.map(\.rawValue) == ["none", "unit", "standardize"])
    }
}

@Suite struct SplitTests {
    func numbered(_ n: Int) -> Dataset {
        Dataset(features: (0..<n).map(Float.init), labels: (0..<n).map { Int32($0 % 3) }, featureCount: 1,
                classes: ["0", "1", "2"])
    }

    @Test func sizesDisjointnessAndDeterminism() {
        let data = numbered(100)
        let (train, test) = DataSplit.split(data, testFraction: 0.2, seed: 42)
        #expect(train.count == 80)
        #expect(test.count == 20)
        #expect(Set(train.features + test.features) == Set(data.features))
        #expect(train.features == train.features.sorted())  // file order kept
        #expect(train.labels == train.features.map { Int32(Int($0) % 3) })
        let again = DataSplit.split(data, testFraction: 0.2, seed: 42)
        #expect(again.test.features == test.features)
        let other = DataSplit.split(data, testFraction: 0.2, seed: 43)
        #expect(other.test.features != test.features)
        let (train0, test0) = DataSplit.split(data, testFraction: 0, seed: 1)
        #expect(train0.count == 100 && test0.count == 0)
        #expect(DataSplit.split(numbered(7), testFraction: 0.5, seed: 1).test.count == 4)
        #expect(DataSplit.split(numbered(2), testFraction: 0.99, seed: 1).train.count == 1)
    }

    @Test func splitUsesThePhiloxSplitStream() {
        var order = Array(0..<10)
        var rng = PhiloxStream(seed: 5, stream: PhiloxStream.Streams.split)
        philoxShuffle(&order, using: &rng)
        let indices = DataSplit.indices(count: 10, testFraction: 0.3, seed: 5)
        #expect(indices.test == order[..<3].sorted())
        #expect(indices.train == order[3...].sorted())
    }
}

@Suite struct PartitionTests {
    /// 1000 rows, 10 classes of 100, in a shuffled order.
    let labels: [Int32] = {
        var labels = (0..<1000).map { Int32($0 % 10) }
        var rng = PhiloxStream(seed: 3)
        philoxShuffle(&labels, using: &rng)
        return labels
    }()

    func expectPartition(_ parts: [[Int]], count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let all = parts.flatMap { $0 }
        #expect(all.count == count, sourceLocation: sourceLocation)
        #expect(all.sorted() == Array(0..<count), sourceLocation: sourceLocation)
        #expect(parts.allSatisfy { $0 == $0.sorted() }, sourceLocation: sourceLocation)
    }

    @Test func iidIsBalanced() {
        let parts = Partitioning.iid.partition(labels: Array(labels.prefix(103)), classCount: 10, parts: 4, seed: 1)
        #expect(parts.map(\.count) == [26, 26, 26, 25])
        expectPartition(parts, count: 103)
        #expect(parts == Partitioning.iid.partition(labels: Array(labels.prefix(103)), classCount: 10, parts: 4, seed: 1))
        #expect(parts != Partitioning.iid.partition(labels: Array(labels.prefix(103)), classCount: 10, parts: 4, seed: 2))
        let one = Partitioning.iid.partition(labels: labels, classCount: 10, parts: 1, seed: 1)
        #expect(one == [Array(0..<1000)])
    }

    @Test func byClassLimitsClassesPerPart() {
        for (k, partCount) in [(2, 5), (2, 10), (1, 10), (3, 7), (1, 20), (2, 100)] {
            let parts = Partitioning.byClass(k).partition(labels: labels, classCount: 10, parts: partCount, seed: 9)
            #expect(parts.count == partCount)
            expectPartition(parts, count: 1000)
            for part in parts {
                let classes = Set(part.map { labels[$0] })
                // Exactly K distinct classes per part whenever parts·K covers the 10 classes.
                #expect(classes.count == min(k, 10), "by-class:\(k) with \(partCount) parts")
                #expect(!part.isEmpty)
            }
        }
        #expect(Partitioning.byClass(1).problem(classCount: 10, parts: 5) != nil)
        #expect(Partitioning.byClass(2).problem(classCount: 10, parts: 5) == nil)
        // Impossible K: every class still placed (each part gets ceil(10 / 3) = 4 classes).
        let forced = Partitioning.byClass(1).partition(labels: labels, classCount: 10, parts: 3, seed: 9)
        expectPartition(forced, count: 1000)
        #expect(forced.allSatisfy { Set($0.map { labels[$0] }).count <= 4 })
    }

    /// Mean over non-empty parts of the share of its most frequent class.
    func dominance(_ parts: [[Int]]) -> Double {
        var total = 0.0
        var counted = 0
        for part in parts where !part.isEmpty {
            var histogram = [Int](repeating: 0, count: 10)
            for i in part { histogram[Int(labels[i])] += 1 }
            total += Double(histogram.max() ?? 0) / Double(part.count)
            counted += 1
        }
        return total / Double(max(counted, 1))
    }

    @Test func dirichletSkewFollowsAlpha() {
        let skewed = Partitioning.dirichlet(0.1).partition(labels: labels, classCount: 10, parts: 10, seed: 4)
        let even = Partitioning.dirichlet(100).partition(labels: labels, classCount: 10, parts: 10, seed: 4)
        expectPartition(skewed, count: 1000)
        expectPartition(even, count: 1000)
        #expect(dominance(skewed) > 0.5, "\(dominance(skewed))")
        #expect(dominance(even) < 0.2, "\(dominance(even))")
        #expect(even.allSatisfy { $0.count > 60 && $0.count < 140 })
        let tiny = Partitioning.dirichlet(1e-6).partition(labels: labels, classCount: 10, parts: 3, seed: 4)
        expectPartition(tiny, count: 1000)
        #expect(skewed == Partitioning.dirichlet(0.1).partition(labels: labels, classCount: 10, parts: 10, seed: 4))
    }
}
