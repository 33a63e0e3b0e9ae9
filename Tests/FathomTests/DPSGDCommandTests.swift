import Fathom
import Testing

/// `train dp-sgd` end to end: ε reported per epoch as the accountant computes it, calibration,
/// and bad flags.
@Suite("train dp-sgd command")
struct DPSGDCommandTests {
    func smallData() -> String {
        let directory = temporaryDirectory()
        let path = directory + "/small.csv"
        writeText(path, TrainCommandTests.smallCSV())
        return path
    }

    @Test("a run reports the ε of its steps, the accountant's, and learns")
    func reportsEpsilon() throws {
        let path = smallData()
        let result = run("train", ["dp-sgd", "--device", "cpu", "--data", path, "--epochs", "4", "--batch-size", "12",
                                   "--model", "logreg", "--noise-multiplier", "0.8", "--max-grad-norm", "1",
                                   "--lr", "0.5", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let final = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(final.contains("\"event\":\"final\"") && final.contains("\"epsilon\":"), "\(final)")
        // 48 training rows, expected batch 12: q = 0.25, 4 steps an epoch, 16 steps.
        var accountant = RDPAccountant()
        accountant.step(noiseMultiplier: 0.8, sampleRate: 0.25, steps: 16)
        let expected = accountant.epsilon(delta: 1e-5).epsilon
        #expect(final.contains("\"epsilon\":\(expected)"), "\(final) vs \(expected)")
        #expect(result.stdout.contains("\"sampling\":\"poisson\""))
    }

    @Test("--target-epsilon calibrates σ so the whole run spends at most the target")
    func calibrates() throws {
        let path = smallData()
        let result = run("train", ["dp-sgd", "--device", "cpu", "--data", path, "--epochs", "3", "--batch-size", "12",
                                   "--model", "logreg", "--target-epsilon", "2", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let final = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let epsilon = final.split(separator: ",").first { $0.hasPrefix("\"epsilon\":") }
            .flatMap { Double($0.dropFirst("\"epsilon\":".count)) }
        let spent = try #require(epsilon, "\(final)")
        #expect(spent <= 2 && spent > 1.98, "ε \(spent)")
    }

    @Test("per-layer clipping trains with one bound per layer or one for all")
    func perLayer() {
        let path = smallData()
        for bounds in ["0.5", "0.5,0.25"] {
            let result = run("train", ["dp-sgd", "--device", "cpu", "--data", path, "--epochs", "2", "--batch-size", "12",
                                       "--model", "mlp:8", "--noise-multiplier", "1", "--clipping", "per-layer",
                                       "--max-grad-norm", bounds, "--json"])
            #expect(result.status == 0, "\(bounds): \(result.stderr)")
            #expect(result.stdout.contains("\"event\":\"final\""))
        }
    }

    @Test("bad privacy flags are one line and exit 64")
    func badFlags() {
        let path = smallData()
        for flags in [["--noise-multiplier", "1", "--target-epsilon", "2"], [], ["--noise-multiplier", "-1"],
                      ["--noise-multiplier", "1", "--max-grad-norm", "0"], ["--noise-multiplier", "1", "--delta", "1"],
                      ["--noise-multiplier", "1", "--workers", "2"], ["--target-epsilon", "0.0000001"],
                      ["--noise-multiplier", "1", "--max-grad-norm", "1,2"],
                      ["--noise-multiplier", "1", "--clipping", "per-layer", "--max-grad-norm", "1,2"]] {
            let result = run("train", ["dp-sgd", "--device", "cpu", "--data", path, "--epochs", "1",
                                       "--model", "logreg"] + flags)
            #expect(result.status == 64, "\(flags): \(result.status) \(result.stderr)")
            #expect(!result.stderr.isEmpty)
        }
    }
}
