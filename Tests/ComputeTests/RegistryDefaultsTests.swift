@testable import Compute
import Testing

/// The registry's knob defaults are the only defaults the host uses; the `#ifndef` blocks in
/// the `.cl` files exist so a file compiles alone, and must agree with them.
@Suite("registry defaults and operand guards")
struct RegistryDefaultsTests {
    /// `#ifndef NAME` followed by `#define NAME value` in `source`.
    static func fileDefaults(_ source: String) -> [String: Int] {
        let lines = source.split(separator: "\n").map { $0.trimmingPrefix(" ") }
        var result: [String: Int] = [:]
        for (i, line) in lines.enumerated() where line.hasPrefix("#ifndef ") && i + 1 < lines.count {
            let name = line.dropFirst("#ifndef ".count).split(separator: " ").first.map(String.init) ?? ""
            let next = lines[i + 1].split(separator: " ")
            if next.count >= 3, next[0] == "#define", next[1] == name, let value = Int(next[2]) {
                result[name] = value
            }
        }
        return result
    }

    /// A file compiled alone is its family's first specialisation (matmul's A·B).
    @Test("every .cl #ifndef default equals the registry's declared default")
    func fileDefaultsMatchRegistry() {
        for family in KernelRegistry.families {
            let expected = family.defaults.merging(family.specializations[0].defines) { $1 }
            #expect(Self.fileDefaults(embeddedKernelFile(family.name)) == expected, "\(family.name)")
        }
    }

    @Test("an index out of its buffer's bound is refused when written, on every device")
    func indexWritesAreChecked() async {
        await #expect(processExitsWith: .failure) {
            let device = CPUDevice()
            _ = try device.uploadIndices([0, 1, 10], below: 10)
        }
        await #expect(processExitsWith: .failure) {
            let device = try KernelDevice.openCL(openCLDevices()[0], cacheDirectory: nil)
            let labels = try device.makeIndexBuffer(count: 2, bound: 3)
            try device.write([2, -1] as [Int32], to: labels.whole)
        }
    }

    @Test("a kernel is never handed indices that could leave the buffer they index")
    func indexBoundsAreChecked() async {
        // Labels bounded by 10 for a loss over 5 classes.
        await #expect(processExitsWith: .failure) {
            let device = try KernelDevice.openCL(openCLDevices()[0], cacheDirectory: nil)
            let logits = try device.makeBuffer(count: 10), loss = try device.makeBuffer(count: 2)
            let labels = try device.uploadIndices([0, 1], below: 10)
            try device.softmaxCrossEntropy(logits: logits.whole, labels: labels.whole, rows: 2, classes: 5,
                                           loss: loss.whole, correct: loss.whole, gradient: nil, scale: 1)
        }
        // Plain Int32 values (no bound) as gather indices.
        await #expect(processExitsWith: .failure) {
            let device = CPUDevice()
            let source = try device.makeBuffer(count: 4), out = try device.makeBuffer(count: 1)
            try device.gatherRows(source.whole, width: 1, indices: try device.upload([3] as [Int32]).whole, into: out.whole)
        }
        // Float data where a kernel expects integers.
        await #expect(processExitsWith: .failure) {
            let device = CPUDevice()
            let source = try device.makeBuffer(count: 4), out = try device.makeBuffer(count: 1)
            try device.gatherRows(source.whole, width: 1, indices: try device.upload([0] as [Float]).whole, into: out.whole)
        }
    }

    @Test("index buffers start zeroed and accept in-range values; copies keep the bound")
    func indexBuffersInRange() throws {
        for device in Devices.all {
            let buffer = try device.makeIndexBuffer(count: 5, bound: 4)
            #expect(try device.download(buffer.whole, as: Int32.self) == [0, 0, 0, 0, 0])
            try device.write([3, 2, 1] as [Int32], to: buffer.slice(1, 3))
            #expect(try device.download(buffer.whole, as: Int32.self) == [0, 3, 2, 1, 0])
            let wider = try device.makeIndexBuffer(count: 5, bound: 8)
            try device.copy(buffer.whole, to: wider.whole)
            #expect(try device.download(wider.whole, as: Int32.self) == [0, 3, 2, 1, 0])
            let words = try device.upload([UInt32.max, 0, 7])
            #expect(try device.download(words.whole, as: UInt32.self) == [UInt32.max, 0, 7])
            #expect(words.elementType == .uint32 && buffer.indexBound == 4)
        }
    }
}
