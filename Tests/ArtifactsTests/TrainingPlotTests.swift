import Testing
@testable import Artifacts

private func records(_ count: Int) -> [EpochRecord] {
    (1...count).map { epoch in
        let t = Double(epoch - 1) / Double(max(count - 1, 1))
        return EpochRecord(
            epoch: epoch, trainLoss: 2.71 - 2.58 * t, trainAccuracy: 0.12 + 0.85 * t,
            testLoss: 2.6 - 2.2 * t, testAccuracy: 0.15 + 0.75 * t, seconds: 1)
    }
}

/// Checks that tags nest and close properly, there is one root `<svg>` element, and every `&`
/// starts an entity: enough to catch what string-built SVG usually gets wrong.
private func isWellFormed(_ svg: String) -> Bool {
    var stack: [Substring] = []
    var roots = 0
    var rest = svg[...]
    while let open = rest.firstIndex(of: "<") {
        guard let close = rest[open...].firstIndex(of: ">") else { return false }
        let tag = rest[rest.index(after: open)..<close]
        rest = rest[rest.index(after: close)...]
        if tag.hasPrefix("/") {
            guard stack.popLast() == tag.dropFirst() else { return false }
        } else {
            let name = tag.prefix { $0 != " " && $0 != "/" && $0 != "\n" }
            if stack.isEmpty { roots += 1 }
            if !tag.hasSuffix("/") { stack.append(name) }
        }
        if tag.contains("<") { return false }
    }
    var ampersands = svg[...]
    while let amp = ampersands.firstIndex(of: "&") {
        let after = ampersands[amp...]
        guard ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(where: { after.hasPrefix($0) }) else { return false }
        ampersands = ampersands[ampersands.index(after: amp)...]
    }
    return stack.isEmpty && roots == 1
}

@Suite struct NiceAxisTests {
    private func ticks(_ values: [Double], integer: Bool = false, limits: ClosedRange<Double>? = nil) -> [String] {
        TrainingPlot.niceAxis(values, integerSteps: integer, limits: limits).ticks.map(\.label)
    }

    @Test func lossRange() {
        let axis = TrainingPlot.niceAxis([0.13, 2.71, 1.2])
        #expect(axis.ticks.map(\.value) == [0, 0.5, 1, 1.5, 2, 2.5, 3])
        #expect(axis.ticks.map(\.label) == ["0", "0.5", "1", "1.5", "2", "2.5", "3"])
        #expect(axis.lower == 0 && axis.upper == 3)
    }

    @Test func roundStepsAcrossScales() {
        #expect(ticks([12, 97], limits: 0...100) == ["0", "20", "40", "60", "80", "100"])
        #expect(ticks([0.001, 0.0042]) == ["0.001", "0.0015", "0.002", "0.0025", "0.003", "0.0035", "0.004", "0.0045"])
        #expect(ticks([-2.5, 1.2]) == ["-3", "-2", "-1", "0", "1", "2"])
        #expect(ticks([0.1, 0.3]) == ["0.1", "0.15", "0.2", "0.25", "0.3"])
        #expect(ticks([1200, 56000]) == ["0", "10000", "20000", "30000", "40000", "50000", "60000"])
    }

    @Test func epochAxisUsesWholeNumbers() {
        #expect(ticks([1], integer: true) == ["0", "1", "2"])
        #expect(ticks([1, 2, 3], integer: true) == ["1", "2", "3"])
        #expect(ticks([1, 50], integer: true) == ["0", "10", "20", "30", "40", "50"])
        #expect(ticks([1, 10], integer: true) == ["0", "2", "4", "6", "8", "10"])
    }

    @Test func constantAndEmptySeriesGetARange() {
        let constant = TrainingPlot.niceAxis([0.5, 0.5])
        #expect(constant.lower < 0.5 && constant.upper > 0.5)
        #expect(constant.ticks.map(\.label) == ["0.44", "0.46", "0.48", "0.5", "0.52", "0.54", "0.56"])
        #expect(ticks([0]) == ["-1", "-0.5", "0", "0.5", "1"])
        #expect(ticks([100, 100], limits: 0...100) == ["90", "95", "100"])
        #expect(ticks([]) == ["0", "0.2", "0.4", "0.6", "0.8", "1"])
        #expect(ticks([.nan, .infinity]) == ["0", "0.2", "0.4", "0.6", "0.8", "1"])
    }

    @Test func limitsNeverCutData() {
        #expect(ticks([95, 104], limits: 0...100) == ["94", "96", "98", "100", "102", "104"])
    }

    @Test func decimalFormatting() {
        #expect(TrainingPlot.decimal(-5, digits: 1) == "-0.5")
        #expect(TrainingPlot.decimal(10, digits: 1) == "1")
        #expect(TrainingPlot.decimal(0, digits: 3) == "0")
        #expect(TrainingPlot.decimal(1234, digits: 2) == "12.34")
        #expect(TrainingPlot.decimal(7, digits: 4) == "0.0007")
        #expect(TrainingPlot.fmt(12.34) == "12.3")
        #expect(TrainingPlot.fmt(-0.04) == "0")
    }
}

@Suite struct TrainingPlotTests {
    @Test func documentStructure() {
        let svg = TrainingPlot.svg(records: records(10), title: "MLP <dp> & \"sign\" 'zo'")
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.contains("width=\"900\" height=\"360\" viewBox=\"0 0 900 360\""))
        #expect(svg.contains("sans-serif"))
        #expect(svg.contains(">MLP &lt;dp&gt; &amp; &quot;sign&quot; &apos;zo&apos;</text>"))
        #expect(svg.contains("<title>MLP &lt;dp&gt; &amp; &quot;sign&quot; &apos;zo&apos;</title>"))
        #expect(!svg.contains("<dp>"))
        #expect(isWellFormed(svg))
        #expect(svg.hasSuffix("</svg>\n"))
    }

    @Test func oneLinePerSeriesWithMarkersAtEachEpoch() {
        let svg = TrainingPlot.svg(records: records(10), title: "t")
        #expect(occurrences(of: "<path class=\"series", in: svg) == 4)
        for name in ["train-loss", "test-loss", "train-accuracy", "test-accuracy"] {
            #expect(occurrences(of: "<path class=\"series \(name)\"", in: svg) == 1)
        }
        // Ten train markers per panel plus one in the legend; test markers are squares.
        #expect(occurrences(of: "<circle", in: svg) == 2 * 10 + 1)
        #expect(occurrences(of: "<rect x=", in: svg) == 2 * 10 + 1 + 2)  // + the two panel frames
        #expect(occurrences(of: "stroke-dasharray", in: svg) == 2 + 1)
    }

    @Test("a 1,500-epoch history marks about 50 points a series (the last always) and stays small")
    func denseHistoriesMarkSomePoints() throws {
        let svg = TrainingPlot.svg(records: records(1500), title: "dense")
        // every = ⌈1500/50⌉ = 30: indices 0, 30, …, 1470 and the last, 1499: 51 a series.
        #expect(occurrences(of: "<circle", in: svg) == 2 * 51 + 1)
        #expect(svg.utf8.count < 200_000, "\(svg.utf8.count) bytes")
    }

    @Test func axesHaveTitlesAndRoundTickLabels() {
        let svg = TrainingPlot.svg(records: records(10), title: "t")
        for label in [">epoch<", ">loss<", ">accuracy (%)<", ">train<", ">test<"] {
            #expect(svg.contains(label), "missing \(label)")
        }
        // Loss spans 0.13...2.71, accuracy 12...97 %, epochs 1...10.
        for label in ["0", "0.5", "1", "1.5", "2", "2.5", "3", "20", "40", "60", "80", "100", "2", "4", "6", "8", "10"] {
            #expect(svg.contains(">\(label)</text>"), "missing tick \(label)")
        }
        #expect(occurrences(of: "text-anchor=\"end\">", in: svg) == 7 + 6)
    }

    @Test func singleRecord() {
        let svg = TrainingPlot.svg(
            records: [EpochRecord(epoch: 1, trainLoss: 0.7, trainAccuracy: 0.8, testLoss: 0.75, testAccuracy: 0.78, seconds: 3)],
            title: "one")
        #expect(isWellFormed(svg))
        #expect(occurrences(of: "<path class=\"series", in: svg) == 4)
        #expect(occurrences(of: " L", in: svg) == 0)
        #expect(!svg.lowercased().contains("nan") && !svg.contains("inf"))
        // The lone epoch sits in the middle of a 0...2 axis.
        #expect(svg.contains("d=\"M250 "))
    }

    @Test func nonFiniteValuesAreSkipped() {
        var history = records(9)
        for index in history.indices {
            if index % 3 != 2 { history[index].testLoss = .nan }
            history[index].testAccuracy = .nan
        }
        history[4].trainLoss = .infinity
        let svg = TrainingPlot.svg(records: history, title: "gaps")
        #expect(isWellFormed(svg))
        #expect(!svg.lowercased().contains("nan") && !svg.contains("inf"))
        #expect(occurrences(of: "<path class=\"series", in: svg) == 3)
        #expect(!svg.contains("test-accuracy\""))
        let testLoss = svg.split(separator: "\n").first { $0.contains("series test-loss") }
        #expect(testLoss.map { occurrences(of: " L", in: String($0)) } == 2)
        let trainLoss = svg.split(separator: "\n").first { $0.contains("series train-loss") }
        #expect(trainLoss.map { occurrences(of: " L", in: String($0)) } == 7)
    }

    @Test func constantSeriesAndUnsortedRecords() {
        let flat = (1...5).reversed().map {
            EpochRecord(epoch: $0, trainLoss: 0.5, trainAccuracy: 1, testLoss: 0.5, testAccuracy: 1, seconds: 1)
        }
        let svg = TrainingPlot.svg(records: flat, title: "flat")
        #expect(isWellFormed(svg))
        #expect(!svg.lowercased().contains("nan") && !svg.contains("inf"))
        #expect(svg.contains(">0.5</text>") && svg.contains(">100</text>"))
        // Sorted by epoch: the x coordinates of the train-loss line increase.
        let line = svg.split(separator: "\n").first { $0.contains("series train-loss") }.map(String.init) ?? ""
        #expect(line.contains("d=\"M70 "))
    }

    @Test func emptyHistory() {
        let svg = TrainingPlot.svg(records: [], title: "")
        #expect(isWellFormed(svg))
        #expect(occurrences(of: "no data", in: svg) == 2)
        #expect(occurrences(of: "<path", in: svg) == 0)
    }

    @Test func controlCharactersInTheTitleStayValid() {
        let svg = TrainingPlot.svg(records: records(2), title: "bell\u{07} tab\t")
        #expect(svg.contains("bell\u{FFFD} tab\t"))
        #expect(isWellFormed(svg))
    }

    @Test func writeToFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("curves.svg")
        try TrainingPlot.write(records: records(4), title: "run", to: path)
        #expect(try AtomicFile.read(path) == Array(TrainingPlot.svg(records: records(4), title: "run").utf8))
        #expect(directory.entries() == ["curves.svg"])
        #expect(throws: ArtifactError.self) {
            try TrainingPlot.write(records: records(4), title: "run", to: directory.file("missing/curves.svg"))
        }
        #expect(directory.entries() == ["curves.svg"])
    }
}
