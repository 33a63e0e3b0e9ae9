import Testing

/// `train zo` and `attack` end to end on a small file: training by function values, exact
/// resume of ZO-AdaMM, the attack table as JSON, the universal attack, and bad input.
@Suite("train zo and attack commands")
struct ZOCommandTests {
    @Test("train zo learns logreg from loss values alone, inference-only, with every rule and memory mode")
    func trains() {
        let directory = temporaryDirectory()
        let path = directory + "/small.csv"
        writeText(path, TrainCommandTests.smallCSV())
        for flags in [[String](), ["--optimizer", "zo-sign", "--lr", "0.01"], ["--optimizer", "zo-adamm", "--lr", "0.02"],
                      ["--memory", "exact"], ["--memory", "materialized", "--directions", "3"],
                      ["--estimator", "sphere", "--difference", "forward"], ["--estimator", "rademacher", "--workers", "2"]] {
            let result = run("train", ["zo", "--device", "cpu", "--data", path, "--model", "logreg", "--epochs", "30",
                                       "--batch-size", "16", "--lr", "0.05", "--json"] + flags)
            #expect(result.status == 0, "\(flags): \(result.stderr)")
            #expect(result.stdout.contains("\"algorithm\":\"zo\""), "\(flags)")
            let accuracy = finalValue(result.stdout, "train_accuracy") ?? 0
            #expect(accuracy > 0.6, "\(flags): train accuracy \(accuracy)")
        }
    }

    @Test("ZO-AdaMM's moments are checkpointed: a resumed run continues exactly (CPU)")
    func resume() {
        let directory = temporaryDirectory()
        let path = directory + "/small.csv"
        writeText(path, TrainCommandTests.smallCSV())
        let common = ["zo", "--device", "cpu", "--data", path, "--batch-size", "8", "--model", "logreg",
                      "--optimizer", "zo-adamm", "--lr", "0.01", "--schedule", "constant", "--json"]
        let straight = run("train", common + ["--epochs", "4", "--checkpoint", directory + "/a.ckpt"])
        let first = run("train", common + ["--epochs", "2", "--checkpoint", directory + "/b.ckpt"])
        let resumed = run("train", common + ["--epochs", "4", "--resume", directory + "/b.ckpt",
                                             "--checkpoint", directory + "/b.ckpt"])
        #expect(straight.status == 0 && first.status == 0 && resumed.status == 0, "\(resumed.stderr)")
        #expect(finalValue(straight.stdout, "test_loss") != nil
                && finalValue(straight.stdout, "test_loss") == finalValue(resumed.stdout, "test_loss"),
                "\(straight.stdout) vs \(resumed.stdout)")
        // Another rule cannot resume ZO-AdaMM's checkpoint.
        let other = run("train", ["zo", "--device", "cpu", "--data", path, "--batch-size", "8", "--model", "logreg",
                                  "--epochs", "5", "--resume", directory + "/b.ckpt"])
        #expect(other.status == 65, "\(other.stderr)")
    }

    @Test("attack reads the checkpoint's model, data and scaling, and reports every method as JSON")
    func attack() {
        let directory = temporaryDirectory()
        let path = directory + "/small.csv"
        writeText(path, TrainCommandTests.smallCSV())
        let checkpoint = directory + "/model.ckpt"
        let trained = run("train", ["sgd", "--device", "cpu", "--data", path, "--model", "mlp:16", "--epochs", "10",
                                    "--batch-size", "8", "--checkpoint", checkpoint])
        #expect(trained.status == 0, "\(trained.stderr)")
        let result = run("attack", ["--device", "cpu", "--checkpoint", checkpoint, "--images", "5", "--iterations", "150",
                                    "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 3, "\(result.stdout)")
        for (line, method) in zip(lines, ["zo-sgd", "zo-sign", "zo-adamm"]) {
            #expect(line.contains("\"method\":\"\(method)\""), "\(line)")
            for key in ["success_rate", "mean_l2", "mean_queries"] { #expect(line.contains("\"\(key)\":"), "\(line)") }
        }
        // The same data moved: --data points at it.
        let moved = directory + "/moved.csv"
        writeText(moved, TrainCommandTests.smallCSV())
        let again = run("attack", ["--device", "cpu", "--checkpoint", checkpoint, "--data", moved, "--images", "2",
                                   "--iterations", "5", "--method", "zo-adamm", "--json"])
        #expect(again.status == 0 && again.stdout.contains("zo-adamm"), "\(again.stderr)")
        // Universal: two models, ZO-Min-Max and the uniform baseline.
        let second = directory + "/second.ckpt"
        let other = run("train", ["sgd", "--device", "cpu", "--data", path, "--model", "logreg", "--epochs", "10",
                                  "--batch-size", "8", "--checkpoint", second])
        #expect(other.status == 0, "\(other.stderr)")
        let universal = run("attack", ["--device", "cpu", "--universal", "--ensemble", checkpoint + "," + second,
                                       "--images", "8", "--iterations", "30", "--json"])
        #expect(universal.status == 0, "\(universal.stderr)")
        #expect(universal.stdout.contains("\"method\":\"zo-min-max\"") && universal.stdout.contains("\"success_rate_1\":"),
                "\(universal.stdout)")
    }

    @Test("bad input: a missing checkpoint exits 66, a rule of another command 64, a corrupt checkpoint 65")
    func badInput() {
        let directory = temporaryDirectory()
        let missing = run("attack", ["--device", "cpu", "--checkpoint", directory + "/none.ckpt"])
        #expect(missing.status == 66 && missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        writeText(directory + "/bad.ckpt", "FATHOMCK not really")
        let corrupt = run("attack", ["--device", "cpu", "--checkpoint", directory + "/bad.ckpt"])
        #expect(corrupt.status == 65, "\(corrupt.status) \(corrupt.stderr)")
        for (command, flags) in [("zo", ["--optimizer", "adam"]), ("sgd", ["--optimizer", "zo-sgd"]),
                                 ("zo", ["--directions", "0"]), ("zo", ["--mu", "-1"]), ("zo", ["--estimator", "cauchy"])] {
            let result = run("train", [command, "--device", "cpu", "--epochs", "1"] + flags)
            #expect(result.status == 64, "\(command) \(flags): \(result.status) \(result.stderr)")
        }
        let noCheckpoint = run("attack", ["--device", "cpu"])
        #expect(noCheckpoint.status == 64, "\(noCheckpoint.stderr)")
    }
}
