import Testing

/// The training engine's acceptance run: `train sgd` with its defaults (mlp:512,256, momentum
/// with cosine schedule) on the embedded MNIST-5k reaches 93% test accuracy within 20 epochs on
/// the CPU, and the same run on OpenCL (PoCL in CI) agrees within one point.
@Suite("acceptance: MNIST-5k")
struct AcceptanceTests {
    @Test func cpuReaches93PercentAndOpenCLAgrees() {
        let cpu = run("train", ["sgd", "--device", "cpu", "--epochs", "20", "--json"])
        #expect(cpu.status == 0, "stderr: \(cpu.stderr)")
        let cpuAccuracy = finalValue(cpu.stdout, "test_accuracy") ?? 0
        #expect(cpuAccuracy >= 0.93, "CPU test accuracy \(cpuAccuracy)")

        let openCL = run("train", ["sgd", "--device", "opencl", "--epochs", "20", "--json"])
        #expect(openCL.status == 0, "stderr: \(openCL.stderr)")
        let openCLAccuracy = finalValue(openCL.stdout, "test_accuracy") ?? 0
        #expect(abs(openCLAccuracy - cpuAccuracy) <= 0.01, "OpenCL \(openCLAccuracy) vs CPU \(cpuAccuracy)")
    }
}
