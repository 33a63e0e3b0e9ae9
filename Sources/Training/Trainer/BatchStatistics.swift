import Compute

/// Per-sample loss and correctness of the last pass, and running totals kept on the device:
/// `totals[0]` Σ loss, `[1]` Σ correct, `[2]` rows, `[3]` the first step whose batch loss was not
/// finite (−1: none). Read back once per epoch, so steps never wait for the device.
public final class BatchStatistics {
    /// The device holding the buffers.
    public let device: any Device
    /// Per-sample loss of the last pass, (maxBatch).
    public let sampleLoss: DeviceBuffer
    /// Per-sample 0/1 correctness of the last pass, (maxBatch).
    public let sampleCorrect: DeviceBuffer
    /// The running totals, (4).
    public let totals: DeviceBuffer

    /// Buffers for passes of up to `maxBatch` rows.
    public init(device: any Device, maxBatch: Int) throws {
        self.device = device
        sampleLoss = try device.makeBuffer(count: maxBatch)
        sampleCorrect = try device.makeBuffer(count: maxBatch)
        totals = try device.makeBuffer(count: 4)
        try reset()
    }

    /// Zero totals and "no divergent step yet".
    public func reset() throws {
        try device.write([0, 0, 0, -1] as [Float], to: totals.whole)
    }

    /// Adds the last pass of `rows` rows to the totals; `step` is recorded if its loss is the
    /// first that is not finite.
    public func accumulate(rows: Int, step: Int) throws {
        try device.accumulateStatistics(loss: sampleLoss.slice(0, rows), correct: sampleCorrect.slice(0, rows),
                                        rows: rows, stats: totals.whole, step: step)
    }

    /// (Σ loss, Σ correct, rows, first divergent step or −1), waiting for the device.
    public func read() throws -> (loss: Double, correct: Double, rows: Double, divergentStep: Int?) {
        let t = try device.download(totals.whole)
        return (Double(t[0]), Double(t[1]), Double(t[2]), t[3] >= 0 ? Int(t[3]) : nil)
    }
}
