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
    ///
    /// CPU results round as OpenBLAS's kernels for the CPU do, so the CPU checksums are per
    /// OpenBLAS core (the CPU device's name says which). The unnamed entries were recorded on the
    /// first machine, whose core was not noted; "Zen" on 2026-12-02's second machine, where commit
    /// cc206ce (which passed the unnamed checksums on the first) and the zeroth-order commits give
    /// the same parameters (16952772597399707804 for the mlp, both builds checked).
    @Test("train sgd ends bit for bit where the fixed step did", arguments: [
        (["--device", "cpu", "--epochs", "2"], "", ["Zen": UInt64(16_952_772_597_399_707_804), "": 4_822_486_797_809_947_678]),
        (["--device", "cpu", "--epochs", "1", "--model", "cnn", "--batch-size", "128", "--optimizer", "adam",
          "--lr", "0.001"], "", ["Zen": UInt64(11_982_107_057_709_782_046), "": 15_431_963_475_885_767_508]),
        (["--device", "opencl", "--epochs", "1", "--model", "logreg"], "matmul:SPLIT_K=1,matmul-narrow:SPLIT_K=1,matmul-short:SPLIT_K=1",
         ["": UInt64(17_957_600_785_477_658_136)]),
    ])
    func parameterChecksum(_ flags: [String], _ defines: String, _ checksums: [String: UInt64]) throws {
        let path = "/tmp/fathom-pipeline-\(getpid())-\(flags.joined().hashValue).ckpt"
        defer { unlink(path) }
        let result = run("train", ["sgd", "--checkpoint", path, "--json"] + flags,
                         environment: defines.isEmpty ? [:] : ["FATHOM_KERNEL_DEFINES": defines])
        #expect(result.status == 0, "\(result.stderr)")
        let core = checksums.keys.first { !$0.isEmpty && result.stdout.contains("\"device_name\":\"OpenBLAS \($0) (") } ?? ""
        let parameters = try Checkpoint.read(from: path).parameters
        #expect(Self.checksum(parameters) == checksums[core], "OpenBLAS core '\(core)'")
    }
}
