import Compute
import Philox
import Testing
import Training

enum Devices {
    static let cpu = CPUDevice()
    static let openCL: any Device = {
        do {
            return try makeDevice(.opencl)
        } catch {
            fatalError("no OpenCL device (install pocl-opencl-icd): \(error)")
        }
    }()
}

func randomValues(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = PhiloxStream(seed: seed, stream: 99)
    return (0..<count).map { _ in (rng.nextUniform() * 2 - 1) * scale }
}

/// Mean softmax cross-entropy of the model on (x, labels), and — when `backward` — the
/// parameter gradients and the input gradient.
func evaluate(_ model: Model, x: [Float], labels: [Float], backward: Bool)
    throws -> (loss: Double, gradients: [Float], inputGradient: [Float])
{
    let device = model.device
    let batch = labels.count
    try device.write(x, to: model.inputSlice(batch: batch))
    let logits = try model.forward(batch: batch)
    let classes = model.outputShape.count
    let loss = try device.makeBuffer(count: batch), correct = try device.makeBuffer(count: batch)
    let labelBuffer = try device.uploadIndices(labels.map { Int32($0) }, below: classes)
    try device.softmaxCrossEntropy(logits: logits, labels: labelBuffer.whole, rows: batch, classes: classes,
                                   loss: loss.whole, correct: correct.whole,
                                   gradient: backward ? model.outputGradientSlice(batch: batch) : nil,
                                   scale: 1 / Float(batch))
    let mean = try device.download(loss.whole).reduce(0.0) { $0 + Double($1) } / Double(batch)
    guard backward else { return (mean, [], []) }
    try model.backward(batch: batch, inputGradient: true)
    guard let gradients = model.gradients else { preconditionFailure("a training model") }
    return (mean, try device.download(gradients.whole), try device.download(model.inputGradientSlice(batch: batch)))
}

/// Asserts |a − e| ≤ atol + rtol·|e| elementwise, reporting the first mismatches.
func expectClose(_ actual: [Float], _ expected: [Float], atol: Float, rtol: Float = 0, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): sizes differ", sourceLocation: sourceLocation)
    var bad: [String] = []
    for (i, (a, e)) in zip(actual, expected).enumerated() where !(abs(a - e) <= atol + rtol * abs(e)) {
        if bad.count < 5 { bad.append("[\(i)] \(a) vs \(e)") }
    }
    #expect(bad.isEmpty, "\(what): \(bad.joined(separator: ", "))", sourceLocation: sourceLocation)
}
