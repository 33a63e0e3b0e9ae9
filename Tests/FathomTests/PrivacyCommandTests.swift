import Testing

/// The `privacy` executable: Opacus's and TF Privacy's reference ε, calibration, bad input.
@Suite("privacy command")
struct PrivacyCommandTests {
    @Test("epsilon reproduces TF Privacy's reference run; noise calibrates to a target")
    func epsilonAndNoise() {
        let epsilon = run("privacy", ["epsilon", "--noise-multiplier", "1.3", "--batch-size", "150", "--samples", "60000",
                                      "--epochs", "15", "--delta", "1e-5", "--json"])
        #expect(epsilon.status == 0, "\(epsilon.stderr)")
        #expect(epsilon.stdout.contains("\"epsilon\":0.72422340261"), "\(epsilon.stdout)")
        #expect(epsilon.stdout.contains("\"steps\":6000") && epsilon.stdout.contains("\"order\":19"))
        let noise = run("privacy", ["sigma", "--target-epsilon", "0.7242234026109595", "--sample-rate", "0.0025",
                                    "--steps", "6000", "--json"])
        #expect(noise.status == 0, "\(noise.stderr)")
        #expect(noise.stdout.contains("\"noise_multiplier\":1.3"), "\(noise.stdout)")
        // The older spelling still works.
        let alias = run("privacy", ["noise", "--epsilon", "0.7242234026109595", "--sample-rate", "0.0025",
                                    "--steps", "6000", "--json"])
        #expect(alias.stdout == noise.stdout, "\(alias.stdout) \(alias.stderr)")
    }

    @Test("--accountant prv reports PRV's upper bound, tighter than RDP, and calibrates with it")
    func prv() {
        let epsilon = run("privacy", ["epsilon", "--noise-multiplier", "1.3", "--sample-rate", "0.0025", "--steps", "6000",
                                      "--accountant", "prv", "--json"])
        #expect(epsilon.status == 0, "\(epsilon.stderr)")
        #expect(epsilon.stdout.contains("\"epsilon\":0.650") && epsilon.stdout.contains("\"accountant\":\"prv\""),
                "\(epsilon.stdout)")
        #expect(!epsilon.stdout.contains("\"order\""))
        let sigma = run("privacy", ["sigma", "--target-epsilon", "3", "--sample-rate", "0.05", "--steps", "200",
                                    "--accountant", "prv", "--json"])
        let rdp = run("privacy", ["sigma", "--target-epsilon", "3", "--sample-rate", "0.05", "--steps", "200", "--json"])
        func value(_ text: String) -> Double? {
            text.split(separator: ",").first { $0.contains("\"noise_multiplier\":") }
                .flatMap { Double($0.split(separator: ":").last ?? "") }
        }
        // The tighter accountant needs less noise for the same budget.
        if let tight = value(sigma.stdout), let loose = value(rdp.stdout) {
            #expect(tight < loose && tight > 0.5, "PRV σ \(tight), RDP σ \(loose)")
        } else {
            Issue.record("\(sigma.stdout) \(sigma.stderr) \(rdp.stdout)")
        }
    }

    @Test("bad or impossible requests are one line and a usage exit")
    func badInput() {
        for arguments in [["epsilon", "--noise-multiplier", "1", "--sample-rate", "0.01", "--steps", "5", "--epochs", "1"],
                          ["epsilon", "--noise-multiplier", "1", "--sample-rate", "2", "--steps", "5"],
                          ["epsilon", "--noise-multiplier", "-1", "--sample-rate", "0.1", "--steps", "5"],
                          ["epsilon", "--noise-multiplier", "1", "--steps", "5"],
                          ["sigma", "--target-epsilon", "0", "--sample-rate", "0.1", "--steps", "5"],
                          ["sigma", "--target-epsilon", "1e-9", "--sample-rate", "1", "--steps", "100000"],
                          ["epsilon", "--noise-multiplier", "1", "--sample-rate", "0.1", "--steps", "5", "--delta", "1"],
                          ["epsilon", "--noise-multiplier", "1", "--sample-rate", "0.1", "--steps", "5", "--accountant", "gdp"]] {
            let result = run("privacy", arguments)
            #expect(result.status == 64, "\(arguments): \(result.status) \(result.stderr)")
            #expect(!result.stderr.isEmpty && result.stdout.isEmpty, "\(arguments)")
        }
    }
}
