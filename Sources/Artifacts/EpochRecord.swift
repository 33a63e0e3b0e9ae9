/// The metrics of one completed epoch.
///
/// Accuracies are fractions in [0, 1] (plots show them as percentages). A metric that was not
/// measured in an epoch (for example a test pass that runs only every few epochs) is NaN; plots
/// skip such points and JSON writes them as `null`.
public struct EpochRecord: Sendable, Equatable {
    /// The epoch number, counting from 1 for the first completed epoch.
    public var epoch: Int
    /// Mean training loss over the epoch.
    public var trainLoss: Double
    /// Fraction of training examples classified correctly, in [0, 1].
    public var trainAccuracy: Double
    /// Loss on the test set after the epoch.
    public var testLoss: Double
    /// Fraction of test examples classified correctly, in [0, 1].
    public var testAccuracy: Double
    /// Wall-clock duration of the epoch in seconds.
    public var seconds: Double

    /// Creates a record.
    /// - Parameters:
    ///   - epoch: the epoch number (1 for the first).
    ///   - trainLoss: mean training loss.
    ///   - trainAccuracy: training accuracy as a fraction in [0, 1].
    ///   - testLoss: test loss.
    ///   - testAccuracy: test accuracy as a fraction in [0, 1].
    ///   - seconds: wall-clock duration of the epoch.
    public init(
        epoch: Int, trainLoss: Double, trainAccuracy: Double,
        testLoss: Double, testAccuracy: Double, seconds: Double
    ) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.seconds = seconds
    }
}
