import Compute
import Testing

@Suite("conv: im2col and col2im")
struct ConvTests {
    static let geometries = [
        ConvGeometry(batch: 1, height: 1, width: 1, channels: 1, kernelHeight: 1, kernelWidth: 1),
        ConvGeometry(batch: 2, height: 5, width: 7, channels: 3, kernelHeight: 3, kernelWidth: 2, stride: 2, padding: 1),
        ConvGeometry(batch: 3, height: 28, width: 28, channels: 1, kernelHeight: 8, kernelWidth: 8, stride: 2, padding: 3),
        ConvGeometry(batch: 2, height: 13, width: 13, channels: 16, kernelHeight: 4, kernelWidth: 4, stride: 2),
        ConvGeometry(batch: 0, height: 4, width: 4, channels: 2, kernelHeight: 2, kernelWidth: 2),
        // Large enough for the CPU to split the samples across cores, with a ragged last chunk.
        ConvGeometry(batch: 41, height: 28, width: 28, channels: 1, kernelHeight: 8, kernelWidth: 8, stride: 2, padding: 3),
    ]

    @Test("hand-computed 3x3 image, 2x2 kernel, padding 1")
    func handComputed() throws {
        let g = ConvGeometry(batch: 1, height: 2, width: 2, channels: 1, kernelHeight: 2, kernelWidth: 2, padding: 1)
        #expect(g.outHeight == 3 && g.outWidth == 3 && g.patchSize == 4)
        let device = Devices.cpu
        let cols = try device.makeBuffer(count: g.patchRows * g.patchSize)
        try device.im2col(g, x: try device.upload([1, 2, 3, 4]).whole, cols: cols.whole)
        #expect(try device.download(cols.slice(0, 8)) == [0, 0, 0, 1, 0, 0, 1, 2])
        #expect(try device.download(cols.slice(16, 4)) == [1, 2, 3, 4])
    }

    @Test(arguments: geometries)
    func openCLMatchesCPU(_ g: ConvGeometry) throws {
        let x = randomValues(g.inputCount, seed: 50)
        let dcols = randomValues(g.patchRows * g.patchSize, seed: 51)
        var results: [[Float]] = []
        for device in Devices.all {
            let cols = try device.makeBuffer(count: g.patchRows * g.patchSize)
            try device.im2col(g, x: try device.upload(x).whole, cols: cols.whole)
            let dx = try device.makeBuffer(count: g.inputCount)
            try device.col2im(g, cols: try device.upload(dcols).whole, dx: dx.whole)
            results.append(try device.download(cols.whole) + device.download(dx.whole))
        }
        expectClose(results[1], results[0], atol: 1e-5, "OpenCL vs CPU")
    }

    /// col2im is the adjoint of im2col: <im2col(x), c> = <x, col2im(c)> for all x, c.
    @Test(arguments: geometries)
    func adjoint(_ g: ConvGeometry) throws {
        let device = Devices.cpu
        let x = randomValues(g.inputCount, seed: 52)
        let c = randomValues(g.patchRows * g.patchSize, seed: 53)
        let cols = try device.makeBuffer(count: c.count), dx = try device.makeBuffer(count: x.count)
        try device.im2col(g, x: try device.upload(x).whole, cols: cols.whole)
        try device.col2im(g, cols: try device.upload(c).whole, dx: dx.whole)
        let lhs = zip(try device.download(cols.whole), c).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let rhs = zip(x, try device.download(dx.whole)).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(lhs - rhs) <= 1e-4 * max(1, abs(lhs)))
    }
}

@Suite("pool: max and average pooling")
struct PoolTests {
    static let geometries = [
        PoolGeometry(batch: 1, height: 1, width: 1, channels: 1, kernel: 1, stride: 1),
        PoolGeometry(batch: 2, height: 14, width: 14, channels: 16, kernel: 2, stride: 1),
        PoolGeometry(batch: 3, height: 7, width: 5, channels: 3, kernel: 3, stride: 2),
        PoolGeometry(batch: 1, height: 6, width: 6, channels: 2, kernel: 2, stride: 2),
        PoolGeometry(batch: 0, height: 4, width: 4, channels: 2, kernel: 2, stride: 2),
        // Large enough for the CPU to split the samples across cores, with a ragged last chunk.
        PoolGeometry(batch: 67, height: 14, width: 14, channels: 16, kernel: 2, stride: 1),
    ]

    @Test("hand-computed 3x3, kernel 2, stride 1")
    func handComputed() throws {
        let g = PoolGeometry(batch: 1, height: 3, width: 3, channels: 1, kernel: 2, stride: 1)
        for device in Devices.all {
            let x = try device.upload([1, 5, 2, 4, 3, 9, 0, 8, 6])
            let y = try device.makeBuffer(count: 4), argmax = try device.makeBuffer(count: 4)
            try device.maxPoolForward(g, x: x.whole, y: y.whole, argmax: argmax.whole)
            #expect(try device.download(y.whole) == [5, 9, 8, 9])
            // Positions inside each window: (0, 1) → 1, (1, 1) → 3.
            #expect(try device.download(argmax.whole) == [1, 3, 3, 1])
            let dx = try device.makeBuffer(count: 9)
            try device.maxPoolBackward(g, dy: try device.upload([1, 2, 3, 4]).whole, argmax: argmax.whole, dx: dx.whole)
            // Element 5 (the 9) is the maximum of two overlapping windows and gets both gradients.
            #expect(try device.download(dx.whole) == [0, 1, 0, 0, 0, 6, 0, 3, 0])
            try device.avgPoolForward(g, x: x.whole, y: y.whole)
            #expect(try device.download(y.whole) == [3.25, 4.75, 3.75, 6.5])

            // The first NaN wins its windows, as in PyTorch, on both backends.
            let withNaN = try device.upload([1, .nan, 2, 4, 3, .nan, 0, 8, 6])
            try device.maxPoolForward(g, x: withNaN.whole, y: y.whole, argmax: argmax.whole)
            let pooled = try device.download(y.whole)
            #expect(pooled[0].isNaN && pooled[1].isNaN && pooled[2] == 8 && pooled[3].isNaN)
            #expect(try device.download(argmax.whole) == [1, 0, 3, 1])
        }
    }

    @Test(arguments: geometries)
    func openCLMatchesCPU(_ g: PoolGeometry) throws {
        let x = randomValues(g.inputCount, seed: 60)
        let dy = randomValues(g.outputCount, seed: 61)
        var results: [[Float]] = []
        for device in Devices.all {
            let bx = try device.upload(x), bdy = try device.upload(dy)
            let y = try device.makeBuffer(count: g.outputCount), argmax = try device.makeBuffer(count: g.outputCount)
            let dx = try device.makeBuffer(count: g.inputCount)
            try device.maxPoolForward(g, x: bx.whole, y: y.whole, argmax: argmax.whole)
            try device.maxPoolBackward(g, dy: bdy.whole, argmax: argmax.whole, dx: dx.whole)
            var out = try device.download(y.whole) + device.download(argmax.whole) + device.download(dx.whole)
            try device.avgPoolForward(g, x: bx.whole, y: y.whole)
            try device.avgPoolBackward(g, dy: bdy.whole, dx: dx.whole)
            out += try device.download(y.whole) + device.download(dx.whole)
            results.append(out)
        }
        expectClose(results[1], results[0], atol: 1e-5, "OpenCL vs CPU")
    }
}
