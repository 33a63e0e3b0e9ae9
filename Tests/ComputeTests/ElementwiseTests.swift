import Compute
import Testing

@Suite("elementwise: OpenCL against the CPU reference")
struct ElementwiseTests {
    static let sizes = [0, 1, 17, 64, 1000, 4099]

    @Test(arguments: sizes)
    func fillAndAxpby(_ n: Int) throws {
        let x = randomValues(n, seed: 20), y = randomValues(n, seed: 21)
        let expected = zip(x, y).map { 0.5 * $0 - 2 * $1 }
        for device in Devices.all {
            let bx = try device.upload(x), by = try device.upload(y)
            try device.axpby(alpha: 0.5, x: bx.whole, beta: -2, y: by.whole)
            expectClose(try device.download(by.whole), expected, atol: 1e-6, "\(device.kind) axpby")
            try device.axpby(alpha: 3, x: bx.whole, beta: 0, y: by.whole)
            expectClose(try device.download(by.whole), x.map { 3 * $0 }, atol: 1e-6, "\(device.kind) axpby beta 0")
            // Fill only the middle of the buffer: the slice offset must be honoured.
            if n >= 3 {
                try device.fill(bx.slice(1, n - 2), with: 7)
                let filled = try device.download(bx.whole)
                #expect(filled[0] == x[0] && filled[n - 1] == x[n - 1])
                #expect(filled[1..<(n - 1)].allSatisfy { $0 == 7 })
            }
        }
    }

    @Test(arguments: sizes, Activation.allCases)
    func activations(_ n: Int, _ activation: Activation) throws {
        let x = randomValues(n, seed: 22).map { $0 * 4 }
        let dy = randomValues(n, seed: 23)
        let reference = Devices.cpu
        let rx = try reference.upload(x), ry = try reference.makeBuffer(count: n)
        try reference.activationForward(activation, x: rx.whole, y: ry.whole)
        let expectedY = try reference.download(ry.whole)
        let rdy = try reference.upload(dy), rdx = try reference.makeBuffer(count: n)
        try reference.activationBackward(activation, y: ry.whole, dy: rdy.whole, dx: rdx.whole)
        let expectedDx = try reference.download(rdx.whole)

        // Hand-checked semantics of the reference itself.
        for i in 0..<n {
            switch activation {
            case .identity: #expect(expectedY[i] == x[i] && expectedDx[i] == dy[i])
            case .relu:
                #expect(expectedY[i] == max(x[i], 0))
                #expect(expectedDx[i] == (x[i] > 0 ? dy[i] : 0))
            case .tanh:
                #expect(abs(expectedDx[i] - dy[i] * (1 - expectedY[i] * expectedY[i])) <= 1e-6)
            }
        }

        let device = Devices.openCL
        let ox = try device.upload(x), oy = try device.makeBuffer(count: n)
        try device.activationForward(activation, x: ox.whole, y: oy.whole)
        expectClose(try device.download(oy.whole), expectedY, atol: 2e-6, "forward \(activation)")
        let ody = try device.upload(dy), odx = try device.makeBuffer(count: n)
        try device.activationBackward(activation, y: oy.whole, dy: ody.whole, dx: odx.whole)
        expectClose(try device.download(odx.whole), expectedDx, atol: 2e-6, "backward \(activation)")
    }

    @Test("ReLU keeps NaN and infinities on both backends, in the kernel and in the matmul epilogue")
    func specialValues() throws {
        let x: [Float] = [.nan, .infinity, -.infinity, -0.0, 0, 1, -1]
        for device in Devices.all {
            let y = try device.makeBuffer(count: x.count)
            try device.activationForward(.relu, x: try device.upload(x).whole, y: y.whole)
            let out = try device.download(y.whole)
            #expect(out[0].isNaN, "\(device.kind) ReLU(NaN)")
            #expect(Array(out[1...]) == [.infinity, 0, 0, 0, 1, 0], "\(device.kind)")
            // x·1 + 0 through the product's epilogue.
            let c = try device.makeBuffer(count: x.count)
            try device.gemm(GemmShape(m: x.count, n: 1, k: 1), alpha: 1, a: try device.upload(x).whole,
                            b: try device.upload([1]).whole, beta: 0, c: c.whole, bias: nil, activation: .relu)
            #expect(try device.download(c.whole)[0].isNaN, "\(device.kind) fused ReLU(NaN)")
        }
    }

    @Test(arguments: [(0, 5), (1, 1), (7, 13), (300, 784)])
    func gatherRows(_ rows: Int, _ width: Int) throws {
        let sourceRows = 11
        let source = randomValues(sourceRows * width, seed: 24)
        let indices = (0..<rows).map { Int32(($0 * 7 + 3) % sourceRows) }
        var expected: [Float] = []
        for r in indices { expected += source[Int(r) * width..<(Int(r) + 1) * width] }
        let labels = (0..<sourceRows).map { Int32($0 * 3 % 10) }
        for device in Devices.all {
            let out = try device.makeBuffer(count: rows * width)
            let index = try device.uploadIndices(indices, below: sourceRows)
            try device.gatherRows(try device.upload(source).whole, width: width, indices: index.whole, into: out.whole)
            expectClose(try device.download(out.whole), expected, atol: 0, "\(device.kind) gather")
            // Integer rows (labels into an index buffer) are gathered by the same kernel, bit for bit.
            let gathered = try device.makeIndexBuffer(count: rows, bound: 10)
            try device.gatherRows(try device.uploadIndices(labels, below: 10).whole, width: 1, indices: index.whole,
                                  into: gathered.whole)
            #expect(try device.download(gathered.whole, as: Int32.self) == indices.map { labels[Int($0)] })
        }
    }
}

@Suite("reduce: column sums and segment maxima")
struct ReduceTests {
    @Test("per-segment max |x|: empty, single, prime and long segments, a NaN, a slice offset, the same bits everywhere",
          arguments: [[0], [1], [3, 0, 31, 257], [1031, 4099, 1], [0, 0], [70_001]])
    func segmentMaxAbs(_ lengths: [Int]) throws {
        let total = lengths.reduce(0, +)
        var x = randomValues(total + 3, seed: 40).map { $0 * 5 }
        // A NaN in the last segment of the longest case must reach its maximum.
        if total > 5000 { x[3 + total - 2] = .nan }
        var bounds: [Int32] = [0]
        for length in lengths { bounds.append(bounds[bounds.count - 1] + Int32(length)) }
        var expected: [Float] = []
        for s in lengths.indices {
            let part = x[(3 + Int(bounds[s]))..<(3 + Int(bounds[s + 1]))].map(abs)
            expected.append(part.contains { $0.isNaN } ? .nan : part.max() ?? 0)
        }
        for device in Devices.all {
            let out = try device.upload([Float](repeating: -1, count: lengths.count))
            let values = try device.upload(x)
            try device.segmentMaxAbs(values.slice(3, total), bounds: try device.uploadIndices(bounds, below: total + 1).whole,
                                     segments: lengths.count, into: out.whole)
            let got = try device.download(out.whole)
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern) || zip(got, expected).allSatisfy {
                $0 == $1 || ($0.isNaN && $1.isNaN)
            }, "\(device.kind) \(lengths): \(got) vs \(expected)")
        }
    }

    @Test(arguments: [(0, 3), (1, 1), (3, 0), (256, 512), (1000, 7), (5, 1031)])
    func columnSum(_ rows: Int, _ cols: Int) throws {
        let x = randomValues(rows * cols, seed: 30)
        let prior = randomValues(cols, seed: 31)
        var expected = prior.map { 0.5 * $0 }
        for r in 0..<rows { for c in 0..<cols { expected[c] += x[r * cols + c] } }
        for device in Devices.all {
            let out = try device.upload(prior)
            try device.columnSum(try device.upload(x).whole, rows: rows, cols: cols, beta: 0.5, into: out.whole)
            expectClose(try device.download(out.whole), expected, atol: 1e-4, "\(device.kind) \(rows)x\(cols)")
        }
    }
}
