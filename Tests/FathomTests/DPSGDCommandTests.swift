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

    /// The number after `"key":` in a JSON line.
    func number(_ line: String, _ key: String) -> Double? {
        let prefix = "\"\(key)\":"
        for field in line.dropFirst().dropLast().split(separator: ",") where field.hasPrefix(prefix) {
            return Double(field.dropFirst(prefix.count))
        }
        return nil
    }

    func finalLine(_ result: CommandResult) -> String {
        result.stdout.split(separator: "\n").last.map(String.init) ?? ""
    }

    @Test("the final record holds the privacy guarantee beside the usual fields")
    func finalFields() {
        let result = run("train", ["dp-sgd", "--device", "cpu", "--data", smallData(), "--epochs", "1",
                                   "--batch-size", "12", "--model", "logreg", "--noise-multiplier", "1.1",
                                   "--max-grad-norm", "0.5", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let final = finalLine(result)
        #expect(number(final, "delta") == 1e-5 && number(final, "noise_multiplier") == 1.1, "\(final)")
        #expect(number(final, "max_grad_norm") == 0.5 && number(final, "sample_rate") == 0.25, "\(final)")
        #expect(number(final, "steps") == 4 && final.contains("\"accountant\":\"rdp\""), "\(final)")
        #expect(number(final, "order") != nil && !final.contains("\"stopped\""), "\(final)")
        // 48 training rows: δ = 1e-5 is far below 1/N, so no warning.
        #expect(!result.stderr.contains("warning"), "\(result.stderr)")
        let loose = run("train", ["dp-sgd", "--device", "cpu", "--data", smallData(), "--epochs", "1",
                                  "--model", "logreg", "--noise-multiplier", "1", "--delta", "0.05"])
        #expect(loose.status == 0 && loose.stderr.contains("above 1/N"), "\(loose.stderr)")
    }

    @Test("--max-epsilon stops before the step that would pass it, holds across resumes, and a resume with a larger budget ends where the uninterrupted run does")
    func maxEpsilon() throws {
        let path = smallData(), directory = temporaryDirectory()
        let common = ["dp-sgd", "--device", "cpu", "--data", path, "--epochs", "4", "--batch-size", "12",
                      "--model", "logreg", "--noise-multiplier", "1", "--lr", "0.5", "--json"]
        // q = 0.25, 4 steps an epoch: a budget between ε(5) and ε(6) allows 5 steps, mid-epoch 2.
        func epsilon(_ steps: Int) -> Double {
            var accountant = RDPAccountant()
            accountant.step(noiseMultiplier: 1, sampleRate: 0.25, steps: steps)
            return accountant.epsilon(delta: 1e-5).epsilon
        }
        let budget = (epsilon(5) + epsilon(6)) / 2
        let checkpoint = directory + "/dp.ckpt"
        let stopped = run("train", common + ["--max-epsilon", "\(budget)", "--checkpoint", checkpoint])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        var final = finalLine(stopped)
        #expect(number(final, "steps") == 5 && number(final, "epochs") == 1, "\(final)")
        #expect(number(final, "epsilon") == epsilon(5) && final.contains("\"stopped\":\"--max-epsilon"), "\(final)")
        #expect(stopped.stdout.contains("\"partial\":true"), "\(stopped.stdout)")

        let again = run("train", common + ["--max-epsilon", "\(budget)", "--resume", checkpoint, "--checkpoint", checkpoint])
        final = finalLine(again)
        #expect(again.status == 0 && number(final, "steps") == 5 && final.contains("\"stopped\""), "\(final) \(again.stderr)")
        #expect(number(final, "test_loss") != nil, "\(final)")

        let resumed = run("train", common + ["--resume", checkpoint])
        let whole = run("train", common)
        final = finalLine(resumed)
        let reference = finalLine(whole)
        #expect(resumed.status == 0 && whole.status == 0, "\(resumed.stderr) \(whole.stderr)")
        #expect(number(final, "steps") == 16 && number(final, "epsilon") == epsilon(16), "\(final)")
        for key in ["train_loss", "test_loss", "test_accuracy"] {
            #expect(number(final, key) == number(reference, key), "\(key): \(final) vs \(reference)")
        }
    }

    @Test("a resumed --target-epsilon run calibrates σ for its remaining steps on top of what the checkpoint spent")
    func resumedCalibration() throws {
        let path = smallData(), directory = temporaryDirectory()
        let common = ["dp-sgd", "--device", "cpu", "--data", path, "--batch-size", "12", "--model", "logreg", "--json"]
        let checkpoint = directory + "/dp.ckpt"
        let first = run("train", common + ["--epochs", "2", "--noise-multiplier", "2", "--checkpoint", checkpoint])
        #expect(first.status == 0, "\(first.stderr)")
        let second = run("train", common + ["--epochs", "5", "--target-epsilon", "3", "--resume", checkpoint])
        #expect(second.status == 0, "\(second.stderr)")
        let final = finalLine(second)
        let spent = try #require(number(final, "epsilon"), "\(final)")
        let sigma = try #require(number(final, "noise_multiplier"), "\(final)")
        #expect(spent <= 3 && spent > 2.98, "ε \(spent)")
        // The heterogeneous history recomputed: 8 steps at σ = 2, then 12 at the calibrated σ.
        var accountant = RDPAccountant()
        accountant.step(noiseMultiplier: 2, sampleRate: 0.25, steps: 8)
        accountant.step(noiseMultiplier: sigma, sampleRate: 0.25, steps: 12)
        #expect(accountant.epsilon(delta: 1e-5).epsilon == spent)

        let plain = directory + "/sgd.ckpt"
        #expect(run("train", ["sgd", "--device", "cpu", "--data", path, "--epochs", "1", "--model", "logreg",
                              "--optimizer", "momentum", "--checkpoint", plain]).status == 0)
        let refused = run("train", common + ["--epochs", "2", "--noise-multiplier", "1", "--resume", plain])
        #expect(refused.status == 65 && refused.stderr.contains("accountant"), "\(refused.status) \(refused.stderr)")
    }

    @Test("--perturb trains with materialised per-sample gradients (auto switches to them)")
    func perturbed() {
        for mode in ["auto", "materialized"] {
            let result = run("train", ["dp-sgd", "--device", "cpu", "--data", smallData(), "--epochs", "2",
                                       "--batch-size", "12", "--model", "mlp:8", "--noise-multiplier", "1",
                                       "--perturb", "0.01", "--grad-sample", mode, "--json"])
            #expect(result.status == 0 && finalLine(result).contains("\"test_accuracy\":"), "\(mode): \(result.stderr)")
        }
    }

    @Test("--adaptive-clip moves the bound, reports it, and a resumed run continues from the checkpoint's bound")
    func adaptive() throws {
        let path = smallData(), directory = temporaryDirectory()
        let common = ["dp-sgd", "--device", "cpu", "--data", path, "--batch-size", "12", "--model", "logreg",
                      "--noise-multiplier", "1", "--adaptive-clip", "0.5", "--max-grad-norm", "5", "--schedule", "constant", "--json"]
        let whole = run("train", common + ["--epochs", "4"])
        #expect(whole.status == 0, "\(whole.stderr)")
        let final = finalLine(whole)
        // σ_b = 12 / 20: σ' = (1 − 1/1.44)^(−1/2).
        let share = try #require(number(final, "gradient_noise_multiplier"), "\(final)")
        #expect(abs(share - 1 / (1 - 1 / 1.44).squareRoot()) < 1e-12 && number(final, "adaptive_clip_quantile") == 0.5)
        let bound = try #require(number(final, "max_grad_norm"), "\(final)")
        #expect(bound < 5, "the bound stayed at \(bound)")
        let checkpoint = directory + "/adaptive.ckpt"
        #expect(run("train", common + ["--epochs", "2", "--checkpoint", checkpoint]).status == 0)
        let resumed = finalLine(run("train", common + ["--epochs", "4", "--resume", checkpoint]))
        for key in ["max_grad_norm", "train_loss", "test_loss", "epsilon"] {
            #expect(number(resumed, key) == number(final, key), "\(key): \(resumed) vs \(final)")
        }
    }

    @Test("--accountant prv reports the PRV upper bound of the run's history, below RDP's ε")
    func prvAccountant() throws {
        let flags = ["dp-sgd", "--device", "cpu", "--data", smallData(), "--epochs", "3", "--batch-size", "12",
                     "--model", "logreg", "--noise-multiplier", "1", "--json"]
        let prv = finalLine(run("train", flags + ["--accountant", "prv"]))
        let rdp = finalLine(run("train", flags))
        var history = RDPAccountant()
        history.step(noiseMultiplier: 1, sampleRate: 0.25, steps: 12)
        let expected = PRVAccountant(history: history.history).epsilon(delta: 1e-5).upper
        #expect(number(prv, "epsilon") == expected && prv.contains("\"accountant\":\"prv\""), "\(prv)")
        #expect(expected < (number(rdp, "epsilon") ?? 0), "\(prv) vs \(rdp)")
        #expect(number(prv, "test_loss") == number(rdp, "test_loss"), "the accountant must not change the training")
    }

    @Test("--secure-rng draws unreproducible noise and sampling, spends the same ε, and refuses --seed")
    func secureRandomness() {
        let flags = ["dp-sgd", "--device", "cpu", "--data", smallData(), "--epochs", "2", "--batch-size", "12",
                     "--model", "logreg", "--noise-multiplier", "1", "--json"]
        let first = finalLine(run("train", flags + ["--secure-rng"]))
        let second = finalLine(run("train", flags + ["--secure-rng"]))
        let seeded = finalLine(run("train", flags))
        #expect(first.contains("\"secure_rng\":true") && seeded.contains("\"secure_rng\":false"), "\(first)")
        #expect(number(first, "epsilon") == number(seeded, "epsilon"), "\(first) vs \(seeded)")
        #expect(number(first, "train_loss") != number(second, "train_loss"), "two secure runs drew the same noise")
        #expect(number(seeded, "train_loss") == number(finalLine(run("train", flags)), "train_loss"))
        let refused = run("train", flags + ["--secure-rng", "--seed", "3"])
        #expect(refused.status == 64 && refused.stderr.contains("--seed"), "\(refused.stderr)")
    }

    @Test("bad privacy flags are one line and exit 64")
    func badFlags() {
        let path = smallData()
        for flags in [["--noise-multiplier", "1", "--target-epsilon", "2"], [], ["--noise-multiplier", "-1"],
                      ["--noise-multiplier", "1", "--max-grad-norm", "0"], ["--noise-multiplier", "1", "--delta", "1"],
                      ["--noise-multiplier", "1", "--workers", "2"], ["--target-epsilon", "0.0000001"],
                      ["--noise-multiplier", "1", "--max-grad-norm", "1,2"],
                      ["--noise-multiplier", "1", "--clipping", "per-layer", "--max-grad-norm", "1,2"],
                      ["--noise-multiplier", "1", "--max-epsilon", "0"],
                      ["--noise-multiplier", "1", "--perturb", "0.1", "--grad-sample", "ghost"],
                      ["--noise-multiplier", "1", "--perturb", "-1"],
                      ["--noise-multiplier", "1", "--adaptive-clip", "1.5"],
                      ["--noise-multiplier", "1", "--adaptive-clip", "0.5", "--clipping", "per-layer"],
                      ["--noise-multiplier", "1", "--adaptive-clip", "0.5", "--adaptive-clip-std", "0.4"],
                      ["--noise-multiplier", "1", "--adaptive-clip", "0.5", "--adaptive-clip-range", "2:3"],
                      ["--noise-multiplier", "1", "--accountant", "gdp"]] {
            let result = run("train", ["dp-sgd", "--device", "cpu", "--data", path, "--epochs", "1",
                                       "--model", "logreg"] + flags)
            #expect(result.status == 64, "\(flags): \(result.status) \(result.stderr)")
            #expect(!result.stderr.isEmpty)
        }
    }
}
