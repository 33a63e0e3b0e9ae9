import Compute
import Testing

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
