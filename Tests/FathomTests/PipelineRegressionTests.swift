import Fathom
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The training step became a pipeline (sampler → gradient source → transforms → update); with
/// today's stages it must train exactly as the fixed step did. The checksums were recorded with
/// the code before the pipeline (commit "CUDA review fixes…", 2026-12-02).
@Suite("pipeline regression")
struct PipelineRegressionTests {
    /// FNV-1a over the bit patterns of every parameter.
    static func checksum(_ values: [Float]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for value in values {
            var bits = value.bitPattern
            for _ in 0..<4 {
                hash ^= UInt64(bits & 0xFF)
                hash &*= 0x0000_0100_0000_01B3
                bits >>= 8
            }
        }
        return hash
    }

    /// Split-K products (issue 9) add the same products in another order, so the OpenCL run
    /// reproduces the recorded checksum with one slice per product, which is the old kernel's
    /// arithmetic exactly.
    @Test("train sgd ends bit for bit where the fixed step did", arguments: [
        (["--device", "cpu", "--epochs", "2"], "", UInt64(4_822_486_797_809_947_678)),
        (["--device", "cpu", "--epochs", "1", "--model", "cnn", "--batch-size", "128", "--optimizer", "adam",
          "--lr", "0.001"], "", UInt64(15_431_963_475_885_767_508)),
        (["--device", "opencl", "--epochs", "1", "--model", "logreg"], "matmul:SPLIT_K=1,matmul-narrow:SPLIT_K=1,matmul-short:SPLIT_K=1",
         UInt64(17_957_600_785_477_658_136)),
    ])
    func parameterChecksum(_ flags: [String], _ defines: String, _ expected: UInt64) throws {
        let path = "/tmp/fathom-pipeline-\(getpid())-\(flags.joined().hashValue).ckpt"
        defer { unlink(path) }
        let result = run("train", ["sgd", "--checkpoint", path, "--json"] + flags,
                         environment: defines.isEmpty ? [:] : ["FATHOM_KERNEL_DEFINES": defines])
        #expect(result.status == 0, "\(result.stderr)")
        let parameters = try Checkpoint.read(from: path).parameters
        #expect(Self.checksum(parameters) == expected)
    }
}
