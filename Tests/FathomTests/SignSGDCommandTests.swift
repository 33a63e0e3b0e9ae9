import Testing

/// `train signsgd` end to end on a small file: every vote, noise and tie rule trains; bad
/// flags are usage errors.
@Suite("train signsgd command")
struct SignSGDCommandTests {
    @Test("majority, median and mean votes over simulated workers train and report")
    func votes() {
        let directory = temporaryDirectory()
        let path = directory + "/small.csv"
        writeText(path, TrainCommandTests.smallCSV())
        for flags in [["--vote", "majority"], ["--vote", "majority", "--noise", "0.5", "--tie", "random"],
                      ["--vote", "median", "--noise", "0.1"], ["--vote", "mean"], ["--batch-size", "full"],
                      ["--noise", "adaptive"], ["--vote", "median", "--noise", "adaptive:0.3"],
                      ["--vote", "mean", "--error-feedback"], ["--error-feedback"], ["--signum", "0.9"]] {
            let result = run("train", ["signsgd", "--device", "cpu", "--data", path, "--workers", "4", "--epochs", "3",
                                       "--batch-size", "8", "--model", "logreg", "--optimizer", "sgd", "--lr", "0.01",
                                       "--json"] + flags)
            #expect(result.status == 0, "\(flags): \(result.stderr)")
            #expect(result.stdout.contains("\"algorithm\":\"signsgd\""), "\(flags)")
        }
        // A full batch: one step per epoch.
        let full = run("train", ["signsgd", "--device", "cpu", "--data", path, "--workers", "3", "--epochs", "4",
                                 "--batch-size", "full", "--model", "logreg", "--json"])
        #expect(full.stdout.contains("\"steps\":4"), "\(full.stdout)")
    }

    @Test("error-feedback memories are checkpointed: a resumed run continues exactly (CPU)")
    func resume() {
        let directory = temporaryDirectory()
        let path = directory + "/small.csv"
        writeText(path, TrainCommandTests.smallCSV())
        let common = ["signsgd", "--device", "cpu", "--data", path, "--workers", "2", "--batch-size", "8",
                      "--model", "logreg", "--optimizer", "sgd", "--lr", "0.05", "--error-feedback", "--vote", "mean",
                      "--schedule", "constant",
                      "--json"]
        let straight = run("train", common + ["--epochs", "4", "--checkpoint", directory + "/a.ckpt"])
        let first = run("train", common + ["--epochs", "2", "--checkpoint", directory + "/b.ckpt"])
        let resumed = run("train", common + ["--epochs", "4", "--resume", directory + "/b.ckpt",
                                             "--checkpoint", directory + "/b.ckpt"])
        #expect(straight.status == 0 && first.status == 0 && resumed.status == 0, "\(resumed.stderr)")
        let last = { (text: String) in text.split(separator: "\n").last.map(String.init) ?? "" }
        let loss = { (line: String) in line.split(separator: ",").first { $0.hasPrefix("\"train_loss\":") } }
        #expect(loss(last(straight.stdout)) != nil && loss(last(straight.stdout)) == loss(last(resumed.stdout)),
                "\(last(straight.stdout)) vs \(last(resumed.stdout))")
    }

    @Test("bad compression flags exit 64 with one line")
    func badFlags() {
        for flags in [["--noise", "-1"], ["--noise", "loud"], ["--noise", "adaptive:0"], ["--noise", "adaptive:x"], ["--tie", "coin"], ["--vote", "mode"],
                      ["--vote", "mean", "--noise", "1"], ["--batch-size", "half"], ["--signum", "1"]] {
            let result = run("train", ["signsgd", "--device", "cpu", "--epochs", "1"] + flags)
            #expect(result.status == 64, "\(flags): \(result.status) \(result.stderr)")
        }
    }
}
