import Fathom
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// End-to-end tests of the `train` executable: exit codes, one-line errors, checkpoints.
@Suite("train command")
struct TrainCommandTests {
    /// A small, easy CSV: 3 classes, 4 features, 60 rows.
    static func smallCSV() -> String {
        var text = ""
        for i in 0..<60 {
            let label = i % 3
            let features = (0..<4).map { j in String(Double(j == label ? 3 : 0) + Double((i * 7 + j * 3) % 11) / 11) }
            text += features.joined(separator: ",") + ",\(["cat", "dog", "eel"][label])\n"
        }
        return text
    }

    @Test("--device gpu without a GPU exits 69 with one line listing what exists")
    func gpuMissing() {
        let result = run("train", ["sgd", "--device", "gpu", "--epochs", "1"])
        let hasGPU = result.status == 0
        if hasGPU {
            #expect(result.stdout.contains("on gpu"))
        } else {
            #expect(result.status == 69)
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(result.stderr.contains("no GPU found"))
            #expect(result.stderr.contains("CUDA:"), "the message says what CUDA offers too")
            #expect(result.stdout.isEmpty)
        }
        // No ICD at all (-1001) is the same ordinary case, never a crash.
        let none = run("train", ["sgd", "--device", "gpu"], environment: ["OCL_ICD_VENDORS": "/nonexistent"])
        #expect(none.status == 69)
        #expect(none.stderr.contains("no OpenCL platform"))
        let openCL = run("train", ["sgd", "--device", "opencl"], environment: ["OCL_ICD_VENDORS": "/nonexistent"])
        #expect(openCL.status == 69)
        // CUDA likewise: no driver (or no device) is one line and exit 69, never a crash.
        let cuda = run("train", ["sgd", "--device", "cuda", "--epochs", "1"])
        if cuda.status != 0 {
            #expect(cuda.status == 69)
            #expect(cuda.stderr.split(separator: "\n").count == 1)
            #expect(cuda.stderr.contains("--device cuda: no CUDA device"))
        }
    }

    @Test("bad data: one line FILE:LINE: what is wrong, exit 65", arguments: [
        ("1,2,a\n1,2\n", ":2: "), ("1,x,a\n3,4,b\n", ":1: "), ("", ": "), ("1,nan,a\n", ":1: "),
    ])
    func badData(_ contents: String, _ expected: String) {
        let directory = temporaryDirectory()
        let path = directory + "/bad.csv"
        writeText(path, contents)
        let result = run("train", ["sgd", "--device", "cpu", "--data", path, "--header", "absent"])
        #expect(result.status == 65)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(path + expected), "stderr: \(result.stderr)")
    }

    @Test("a --data file that does not exist exits 66 with one line")
    func missingData() {
        let result = run("train", ["sgd", "--device", "cpu", "--data", "/nonexistent/data.csv"])
        #expect(result.status == 66)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("/nonexistent/data.csv"))
    }

    @Test("sampling, micro-batch and worker flags train and report their steps; bad values exit 64")
    func pipelineFlags() {
        let directory = temporaryDirectory()
        let path = directory + "/small.csv"
        writeText(path, Self.smallCSV())
        for flags in [["--sampling", "poisson"], ["--max-physical-batch", "4"], ["--workers", "3"],
                      ["--workers", "3", "--partition", "by-class:1", "--sampling", "poisson"]] {
            let result = run("train", ["sgd", "--device", "cpu", "--data", path, "--epochs", "3", "--batch-size", "8",
                                       "--model", "logreg", "--json"] + flags)
            #expect(result.status == 0, "\(flags): \(result.stderr)")
            #expect(result.stdout.contains("\"event\":\"final\""), "\(flags)")
            #expect(result.stdout.contains("\"steps_per_epoch\":"), "\(flags)")
        }
        // 48 training rows, batch 8: shuffle and Poisson (q = 1/6) both take 6 steps an epoch.
        let poisson = run("train", ["sgd", "--device", "cpu", "--data", path, "--epochs", "2", "--batch-size", "8",
                                    "--sampling", "poisson", "--json"])
        #expect(poisson.stdout.contains("\"steps\":12"), "\(poisson.stdout)")
        for bad in [["--workers", "0"], ["--partition", "halves"], ["--max-physical-batch", "0"],
                    ["--workers", "2", "--partition", "by-class:1"], ["--sampling", "bernoulli"]] {
            let result = run("train", ["sgd", "--device", "cpu", "--data", path, "--epochs", "1"] + bad)
            #expect(result.status == 64, "\(bad): \(result.status) \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count >= 1)
        }
    }

    @Test("a bad LIBSVM index names the line")
    func badLIBSVM() {
        let directory = temporaryDirectory()
        let path = directory + "/bad.libsvm"
        writeText(path, "1 1:0.5 2:1\n2 0:1\n")
        let result = run("train", ["sgd", "--device", "cpu", "--data", path])
        #expect(result.status == 65)
        #expect(result.stderr.contains(path + ":2: "), "stderr: \(result.stderr)")
    }

    @Test("--json ends with a final event; --metrics, --plot and --checkpoint are written")
    func jsonAndArtifacts() {
        let directory = temporaryDirectory()
        let data = directory + "/small.csv"
        writeText(data, Self.smallCSV())
        let result = run("train", ["sgd", "--device", "cpu", "--data", data, "--model", "logreg", "--epochs", "3",
                                   "--batch-size", "8", "--json", "--metrics", directory + "/m.jsonl",
                                   "--plot", directory + "/p.svg", "--checkpoint", directory + "/c.ckpt"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 5, "start, three epochs, final")
        #expect(lines.allSatisfy { $0.hasPrefix("{") && $0.hasSuffix("}") })
        #expect(finalValue(result.stdout, "epochs") == 3)
        #expect((finalValue(result.stdout, "test_accuracy") ?? 0) > 0.9)
        #expect(finalValue(result.stdout, "train_loss") != nil && finalValue(result.stdout, "seconds") != nil)
        #expect(result.stdout.contains("\"device\":\"cpu\""))
        #expect(readText(directory + "/m.jsonl").split(separator: "\n").count == 5)
        #expect(readText(directory + "/p.svg").hasPrefix("<svg"))
        #expect(readText(directory + "/c.ckpt").utf8.starts(with: "FATHOMCK".utf8))
    }

    @Test("resume continues to exactly the parameters of an uninterrupted run; mismatches are refused")
    func resume() throws {
        let directory = temporaryDirectory()
        let data = directory + "/small.csv"
        writeText(data, Self.smallCSV())
        // A constant schedule: with cosine or linear decay the schedule depends on --epochs,
        // so a 2-epoch run is not the first half of a 4-epoch one.
        let common = ["sgd", "--device", "cpu", "--data", data, "--model", "mlp:5", "--batch-size", "8",
                      "--optimizer", "adam", "--lr", "0.01", "--schedule", "constant"]
        let straight = run("train", common + ["--epochs", "4", "--checkpoint", directory + "/straight.ckpt"])
        #expect(straight.status == 0, "stderr: \(straight.stderr)")
        let first = run("train", common + ["--epochs", "2", "--checkpoint", directory + "/split.ckpt"])
        #expect(first.status == 0)
        let second = run("train", common + ["--epochs", "4", "--resume", directory + "/split.ckpt",
                                            "--checkpoint", directory + "/split.ckpt"])
        #expect(second.status == 0, "stderr: \(second.stderr)")
        #expect(second.stdout.contains("resumed after epoch 2"))
        let uninterrupted = try Checkpoint.read(from: directory + "/straight.ckpt")
        let resumed = try Checkpoint.read(from: directory + "/split.ckpt")
        #expect(resumed.epoch == 4 && resumed.step == uninterrupted.step)
        #expect(resumed.parameters == uninterrupted.parameters)
        #expect(resumed.optimizerState == uninterrupted.optimizerState)
        #expect(resumed.history.count == 4)

        let otherModel = run("train", ["sgd", "--device", "cpu", "--data", data, "--model", "logreg",
                                       "--resume", directory + "/split.ckpt"])
        #expect(otherModel.status == 65)
        #expect(otherModel.stderr.contains("model 'mlp:5'"), "stderr: \(otherModel.stderr)")

        writeText(directory + "/garbage.ckpt", "not a checkpoint at all")
        let garbage = run("train", common + ["--resume", directory + "/garbage.ckpt"])
        #expect(garbage.status == 65)
        #expect(garbage.stderr.split(separator: "\n").count == 1)
    }

    @Test("absurd sizes are refused with a usage error, not a crash", arguments: [
        ["--batch-size", "9223372036854775807"], ["--epochs", "9223372036854775807"],
        ["--model", "mlp:100000000000"], ["--model", "mlp:65536,65536,65536"],
    ])
    func absurdSizes(_ flags: [String]) {
        let result = run("train", ["sgd", "--device", "cpu", "--epochs", "1"] + flags)
        #expect(result.status == 64, "\(flags): \(result.status) \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count >= 1)
    }

    @Test("a batch larger than the data trains on all of it at once")
    func hugeBatch() {
        let directory = temporaryDirectory()
        writeText(directory + "/small.csv", Self.smallCSV())
        let result = run("train", ["sgd", "--device", "cpu", "--data", directory + "/small.csv", "--epochs", "2",
                                   "--batch-size", "100000", "--model", "logreg", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(finalValue(result.stdout, "steps") == 2)
    }

    @Test("the cnn trains on flat 784-feature rows as 28x28 images")
    func cnnOnFlatRows() {
        let directory = temporaryDirectory()
        var text = ""
        for row in 0..<24 {
            text += (0..<784).map { String(($0 * 7 + row * 13) % 256) }.joined(separator: ",") + ",\(row % 3)\n"
        }
        writeText(directory + "/digits.csv", text)
        let result = run("train", ["sgd", "--device", "cpu", "--data", directory + "/digits.csv", "--model", "cnn",
                                   "--epochs", "1", "--batch-size", "8", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"parameters\":26010") == false)  // 3 classes: 26010 − 7·33
        #expect(result.stdout.contains("\"parameters\":25779"), "\(result.stdout)")
    }

    @Test("a resume with other scaling or other classes is refused")
    func resumeOnOtherData() {
        let directory = temporaryDirectory()
        writeText(directory + "/small.csv", Self.smallCSV())
        let common = ["sgd", "--device", "cpu", "--data", directory + "/small.csv", "--model", "logreg"]
        #expect(run("train", common + ["--epochs", "1", "--checkpoint", directory + "/c.ckpt"]).status == 0)
        let rescaled = run("train", common + ["--epochs", "2", "--scale", "standardize", "--resume", directory + "/c.ckpt"])
        #expect(rescaled.status == 65)
        #expect(rescaled.stderr.contains("scale 'unit'"), "\(rescaled.stderr)")
        let otherRate = run("train", common + ["--epochs", "2", "--lr", "5", "--resume", directory + "/c.ckpt"])
        #expect(otherRate.status == 65)
        #expect(otherRate.stderr.contains("optimizer_config"), "\(otherRate.stderr)")
        let otherSplit = run("train", common + ["--epochs", "2", "--test-fraction", "0.5", "--resume", directory + "/c.ckpt"])
        #expect(otherSplit.status == 65)
        // Extending the run is allowed.
        #expect(run("train", common + ["--epochs", "2", "--resume", directory + "/c.ckpt"]).status == 0)
    }

    @Test("a progress bar on a terminal, none when stdout is not one")
    func progressBar() {
        let directory = temporaryDirectory()
        writeText(directory + "/small.csv", Self.smallCSV())
        let arguments = ["sgd", "--device", "cpu", "--data", directory + "/small.csv", "--model", "logreg",
                         "--epochs", "2", "--batch-size", "4"]
        let piped = run("train", arguments)
        #expect(piped.status == 0)
        #expect(!piped.stdout.contains("\r") && !piped.stdout.contains("["), "\(piped.stdout)")
        // script(1) (util-linux, in every Debian) gives the command a pseudo-terminal.
        let command = ([buildDirectory + "/train"] + arguments).joined(separator: " ")
        let terminal = readText(directory + "/tty.txt")
        let status = system("FATHOM_KERNEL_CACHE=off script -qec '\(command)' \(directory)/tty.txt >/dev/null 2>&1")
        let recorded = readText(directory + "/tty.txt")
        #expect(status == 0 && terminal.isEmpty)
        #expect(recorded.contains("epoch 1/2 [") && recorded.contains("] 12/12"), "\(recorded)")
    }

    @Test("output paths are checked before training; a missing checkpoint to resume exits 66")
    func outputAndInputPaths() {
        let directory = temporaryDirectory()
        writeText(directory + "/small.csv", Self.smallCSV())
        let common = ["sgd", "--device", "cpu", "--data", directory + "/small.csv", "--model", "logreg"]
        let unwritable = run("train", common + ["--checkpoint", directory + "/missing/dir/c.ckpt"])
        #expect(unwritable.status == 73)
        #expect(unwritable.stdout.isEmpty, "nothing trained: \(unwritable.stdout)")
        let missing = run("train", common + ["--resume", directory + "/nothing.ckpt"])
        #expect(missing.status == 66, "\(missing.stderr)")
        #expect(missing.stderr.contains("nothing.ckpt"))
    }

    @Test("a LIBSVM --test file whose largest index is lower than the training file's")
    func narrowerLIBSVMTest() {
        let directory = temporaryDirectory()
        var train = ""
        for i in 0..<30 { train += "\(i % 2) 1:\(Double(i % 2) + 0.1) 3:\(Double(i % 5) / 5)\n" }
        writeText(directory + "/train.svm", train)
        writeText(directory + "/test.svm", "0 1:0.1\n1 1:1.1 2:0.5\n")
        let result = run("train", ["sgd", "--device", "cpu", "--data", directory + "/train.svm", "--test",
                                   directory + "/test.svm", "--model", "logreg", "--epochs", "2", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"test_samples\":2"))
    }

    @Test("no test set and zero epochs are reported in words")
    func emptyTestSetAndNoEpochs() {
        let directory = temporaryDirectory()
        writeText(directory + "/small.csv", Self.smallCSV())
        let common = ["sgd", "--device", "cpu", "--data", directory + "/small.csv", "--model", "logreg"]
        let noTest = run("train", common + ["--epochs", "1", "--test-fraction", "0"])
        #expect(noTest.status == 0, "\(noTest.stderr)")
        #expect(noTest.stdout.contains("no test set") && !noTest.stdout.contains("nan"), "\(noTest.stdout)")
        let noEpochs = run("train", common + ["--epochs", "0"])
        #expect(noEpochs.status == 0)
        #expect(noEpochs.stdout.contains("final: no epochs to run"), "\(noEpochs.stdout)")
    }

    @Test("a separate --test file is mapped onto the training classes; unknown labels are refused")
    func separateTestFile() {
        let directory = temporaryDirectory()
        // Label in the first column this time.
        let rows = Self.smallCSV().split(separator: "\n").map { line -> String in
            var fields = line.split(separator: ",").map(String.init)
            let label = fields.removeLast()
            return ([label] + fields).joined(separator: ",")
        }
        writeText(directory + "/train.csv", rows[0..<45].joined(separator: "\n") + "\n")
        writeText(directory + "/test.csv", rows[45...].joined(separator: "\n") + "\n")
        writeText(directory + "/bad-test.csv", "fox,1,2,3,4\n")
        let common = ["sgd", "--device", "cpu", "--data", directory + "/train.csv", "--label-column", "first",
                      "--model", "logreg", "--epochs", "3", "--batch-size", "8", "--json"]
        let good = run("train", common + ["--test", directory + "/test.csv"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("\"test_samples\":15"))
        #expect((finalValue(good.stdout, "test_accuracy") ?? 0) > 0.9)
        let bad = run("train", common + ["--test", directory + "/bad-test.csv"])
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("bad-test.csv") && bad.stderr.contains("fox"), "\(bad.stderr)")
    }

    @Test("divergence after a good epoch keeps that epoch's checkpoint")
    func divergenceKeepsLastGoodEpoch() throws {
        let directory = temporaryDirectory()
        writeText(directory + "/small.csv", Self.smallCSV())
        // The step schedule multiplies the rate by 1e30 after the first epoch.
        let result = run("train", ["sgd", "--device", "cpu", "--data", directory + "/small.csv", "--model", "mlp:8",
                                   "--epochs", "3", "--batch-size", "8", "--schedule", "step:1:1e30",
                                   "--checkpoint", directory + "/c.ckpt"])
        #expect(result.status == 70, "\(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains("in epoch 2, step"), "\(result.stderr)")
        let kept = try Checkpoint.read(from: directory + "/c.ckpt")
        #expect(kept.epoch == 1)
        #expect(kept.parameters.allSatisfy { $0.isFinite })
    }

    @Test("divergence exits 70 naming epoch and step, keeping the last good checkpoint")
    func divergence() {
        let directory = temporaryDirectory()
        let data = directory + "/small.csv"
        writeText(data, Self.smallCSV())
        let checkpoint = directory + "/c.ckpt"
        let good = run("train", ["sgd", "--device", "cpu", "--data", data, "--model", "logreg", "--epochs", "1",
                                 "--checkpoint", checkpoint])
        #expect(good.status == 0)
        let before = readText(checkpoint)
        // Features of 1e30 and a step size of 1e30 overflow the weights within the first epoch.
        let huge = directory + "/huge.csv"
        writeText(huge, (0..<40).map { "\($0 % 2 == 0 ? "1e30" : "-1e30"),1e30,\($0 % 2)" }.joined(separator: "\n") + "\n")
        let bad = run("train", ["sgd", "--device", "cpu", "--data", huge, "--model", "logreg", "--epochs", "3",
                                "--scale", "none", "--lr", "1e30", "--batch-size", "4", "--checkpoint", checkpoint])
        #expect(bad.status == 70, "stdout: \(bad.stdout) stderr: \(bad.stderr)")
        #expect(bad.stderr.contains("epoch 1, step"), "stderr: \(bad.stderr)")
        #expect(readText(checkpoint) == before)
    }
}
