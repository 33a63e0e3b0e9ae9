import Fathom
import Testing

/// The README's "use it as a library" example, kept compiling and correct.
@Suite("README library example")
struct LibraryExampleTests {
    @Test func matmulThroughTheDeviceLayer() throws {
        // --- README example begins ---
        let device = try makeDevice(.cpu)                 // or .gpu, .cuda, .opencl, .auto
        let a = try device.upload([1, 2, 3, 4, 5, 6])     // A: 2×3, row-major
        let b = try device.upload([1, 0, 0, 1, 1, 1])     // B: 3×2
        let c = try device.makeBuffer(count: 4)           // C: 2×2
        try device.gemm(GemmShape(m: 2, n: 2, k: 3), a: a.whole, b: b.whole, c: c.whole)
        let product = try device.download(c.whole)        // [4, 5, 10, 11]
        // --- README example ends ---
        #expect(product == [4, 5, 10, 11])
    }

    @Test("the README shows exactly the example above")
    func readmeMatches() {
        let root = String(#filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3)
            .joined(separator: "/"))
        let test = readText(#filePath), readme = readText(root + "/README.md")
        guard let begin = test.firstRange(of: "// --- README example begins ---\n"),
              let end = test.firstRange(of: "        // --- README example ends ---") else {
            Issue.record("example markers missing")
            return
        }
        let lines = test[begin.upperBound..<end.lowerBound].split(separator: "\n").map { $0.dropFirst(8) }
        for line in lines { #expect(readme.contains(line), "README lacks: \(line)") }
        #expect(lines.count == 6)
    }
}
