import Datasets
import Philox
import Testing

@Suite struct CSVTests {
    func csv(_ text: String, _ options: LoadOptions = LoadOptions()) throws -> Dataset {
        try DataLoader.parse(bytes: utf8(text), name: "t.csv", options: options)
    }

    @Test func basicRowsFeaturesAndLabels() throws {
        let d = try csv("1,2,0\n3,4.5,1\n-1,0,0\n")
        #expect(d.count == 3)
        #expect(d.featureCount == 2)
        #expect(d.features == [1, 2, 3, 4.5, -1, 0])
        #expect(d.classes == ["0", "1"])
        #expect(d.labels == [0, 1, 0])
        #expect(d.imageShape == nil)
        expectValid(d)
    }

    @Test func numericClassesSortNumerically() throws {
        let d = try csv("0,10\n0,9\n0,2\n0,10\n0,-1\n")
        #expect(d.classes == ["-1", "2", "9", "10"])
        #expect(d.labels == [3, 2, 1, 3, 0])
    }

    @Test func numericTextsOfOneValueAreOneClass() throws {
        let d = try csv("0,3\n0,3.0\n0,+3\n0,1\n")
        #expect(d.classes == ["1", "3"])
        #expect(d.labels == [1, 1, 1, 0])
    }

    @Test func wordClassesSortLexicographically() throws {
        let d = try csv("1,cat\n2,dog\n3,Ant\n4,cat\n")
        #expect(d.classes == ["Ant", "cat", "dog"])
        #expect(d.labels == [1, 2, 0, 1])
        // One non-numeric label makes the whole list lexicographic.
        let mixed = try csv("1,10\n2,9\n3,x\n")
        #expect(mixed.classes == ["10", "9", "x"])
    }

    @Test func labelColumnFirstLastAndIndex() throws {
        let text = "7,1,2\n8,3,4\n"
        let first = try csv(text, LoadOptions(labelColumn: .first))
        #expect(first.features == [1, 2, 3, 4])
        #expect(first.classes == ["7", "8"])
        let last = try csv(text, LoadOptions(labelColumn: .last))
        #expect(last.features == [7, 1, 8, 3])
        #expect(last.classes == ["2", "4"])
        let middle = try csv(text, LoadOptions(labelColumn: .index(1)))
        #expect(middle.features == [7, 2, 8, 4])
        #expect(middle.classes == ["1", "3"])
        #expect(middle.labels == [0, 1])
    }

    @Test func headerDetection() throws {
        // Text feature names over numbers: a header.
        let named = try csv("width,height,label\n1,2,cat\n3,4,dog\n")
        #expect(named.count == 2)
        #expect(named.features == [1, 2, 3, 4])
        #expect(named.classes == ["cat", "dog"])
        // A text label over numeric ones is data, not a header: no row may be dropped on a guess.
        let mixed = try csv("1,2,cat\n3,4,1\n5,6,2\n")
        #expect(mixed.count == 3)
        #expect(mixed.classes == ["1", "2", "cat"])
        // Numeric column names with a text label name need the header stated.
        let numbered = try csv("0,1,label\n1,2,3\n5,6,7\n", LoadOptions(header: .present))
        #expect(numbered.count == 2)
        #expect(numbered.classes == ["3", "7"])
        // Word labels without a header: not a header (the feature columns are numbers).
        let words = try csv("1,2,cat\n3,4,dog\n")
        #expect(words.count == 2)
        // Forced modes.
        let present = try csv("1,2,3\n4,5,6\n", LoadOptions(header: .present))
        #expect(present.count == 1)
        #expect(present.features == [4, 5])
        let absent = try csv("1,2,3\n4,5,6\n", LoadOptions(header: .absent))
        #expect(absent.count == 2)
        // Label column first with a header.
        let firstLabel = try csv("label,p0,p1\n5,0.5,1\n6,1,0\n", LoadOptions(labelColumn: .first))
        #expect(firstLabel.features == [0.5, 1, 1, 0])
        #expect(firstLabel.classes == ["5", "6"])
    }

    @Test func lineEndsBlankTailBOMAndSpaces() throws {
        let d = try csv("\u{FEFF}1, 2 ,a\r\n 3 ,4, b \r\n\r\n\n  \n")
        #expect(d.features == [1, 2, 3, 4])
        #expect(d.classes == ["a", "b"])
        let noFinalNewline = try csv("1,2,a\n3,4,b")
        #expect(noFinalNewline.count == 2)
    }

    @Test func otherDelimitersAndQuotes() throws {
        let tabs = try csv("1\t2\tx\n3\t4\ty\n")
        #expect(tabs.features == [1, 2, 3, 4])
        let semicolons = try csv("1;2;x\n3;4;y\n")
        #expect(semicolons.features == [1, 2, 3, 4])
        let quoted = try csv("\"1\",2,\"a, b\"\n3,\"4\",\"say \"\"hi\"\"\"\n")
        #expect(quoted.features == [1, 2, 3, 4])
        #expect(quoted.classes == ["a, b", "say \"hi\""])
    }

    @Test func numberSyntax() throws {
        let d = try csv("1e-3,.5,-2.5E2,+7,0x1p3,5.,x\n")
        #expect(d.features == [0.001, 0.5, -250, 7, 8, 5])
    }

    /// The fast decimal path agrees with the standard library's correctly rounded parser.
    @Test func decimalParsingMatchesStandardLibrary() throws {
        var rng = PhiloxStream(seed: 11, stream: 99)
        var texts = [String]()
        for _ in 0..<3000 {
            var s = rng.nextInt(below: 2) == 0 ? "" : "-"
            for _ in 0..<(1 + rng.nextInt(below: 9)) { s += String(rng.nextInt(below: 10)) }
            if rng.nextInt(below: 2) == 0 {
                s += "."
                for _ in 0..<rng.nextInt(below: 9) { s += String(rng.nextInt(below: 10)) }
            }
            if rng.nextInt(below: 3) == 0 { s += "e" + String(rng.nextInt(below: 30) - 15) }
            texts.append(s)
        }
        let d = try csv(texts.map { $0 + ",0" }.joined(separator: "\n"))
        #expect(d.count == texts.count)
        for (i, text) in texts.enumerated() {
            let expected = Float(text)
            #expect(d.features[i] == expected, "\(text)")
        }
    }

    @Test func onDiskPlainAndGzip() throws {
        let text = "a,b,label\n1,2,x\n3,4,y\n5,6,x\n"
        try withTemporaryDirectory { dir in
            try writeFile(dir + "/plain.csv", utf8(text))
            try writeFile(dir + "/packed.csv.gz", try gzip(utf8(text)))
            // gzip recognized by its magic number, not its name.
            try writeFile(dir + "/misnamed.csv", try gzip(utf8(text)))
            // No telling name: the format is sniffed after decompression.
            try writeFile(dir + "/noext", try gzip(utf8(text)))
            for name in ["plain.csv", "packed.csv.gz", "misnamed.csv", "noext"] {
                let d = try DataLoader.load(path: dir + "/" + name, options: LoadOptions())
                #expect(d.count == 3, "\(name)")
                #expect(d.features == [1, 2, 3, 4, 5, 6], "\(name)")
                #expect(d.classes == ["x", "y"], "\(name)")
                #expect(d.labels == [0, 1, 0], "\(name)")
            }
            let missing = #expect(throws: DataError.self) {
                try DataLoader.load(path: dir + "/absent.csv", options: LoadOptions())
            }
            #expect(missing?.message.contains("cannot open") == true)
            #expect(missing?.file == dir + "/absent.csv")
        }
    }

    // MARK: - Bad input

    @Test func emptyFiles() {
        expectFailure("", line: nil, "empty file")
        expectFailure("\n \n\r\n", line: nil, "empty file")
    }

    @Test func raggedRow() {
        expectFailure("1,2,0\n3,0\n", line: 2, "expected 3 fields, found 2")
        expectFailure("1,2,0\n3,4,5,0\n", line: 2, "expected 3 fields, found 4")
        expectFailure("a,b,c\n1,2,0\n1,2,3\n1,2\n", line: 4, "expected 3 fields, found 2")
        expectFailure("a,b,c\n1,2\n", options: LoadOptions(header: .present), line: 1,
                      "the header has 3 fields but the first data row (line 2) has 2")
    }

    @Test func nonNumericAndNonFinite() {
        expectFailure("1,2,0\n3,x y,1\n", line: 2, "non-numeric value \"x y\" in field 2")
        expectFailure("a,b,c\n1,2,0\n3,1.2.3,1\n", line: 3, "non-numeric value \"1.2.3\"")
        expectFailure("1,2,0\n3,,1\n", line: 2, "empty value in field 2")
        expectFailure("1,nan,0\n", line: 1, "value \"nan\" in field 2 is not finite")
        expectFailure("1,2,0\n-inf,2,0\n", line: 2, "\"-inf\" in field 1 is not finite")
        expectFailure("1,2,0\n1e39,2,0\n", line: 2, "\"1e39\" in field 1 is not finite")
        expectFailure("a,b,c\n", options: LoadOptions(header: .absent), line: 1,
                      "non-numeric value \"a\" in field 1")
    }

    @Test func labelProblems() {
        expectFailure("1,2,0\n1,2,3\n", options: LoadOptions(labelColumn: .index(3)), line: 1,
                      "label column 3 is out of range: the row has 3 fields")
        expectFailure("1,2,\n", line: 1, "empty label in field 3")
        expectFailure("1,2,3\n", options: LoadOptions(featureCount: 3), line: 1,
                      "expected 3 features, found 2")
        expectFailure("1\n2\n", line: 1, "a label and at least one feature")
    }

    @Test func structuralProblems() {
        expectFailure("1,2,0\n\n3,4,1\n", line: 2, "blank line inside the data")
        expectFailure("\n1,2,0\n", line: 1, "blank line before the data")
        expectFailure("1,2,0\n3,\"4,1\n", line: 2, "unterminated quoted text in field 2")
        expectFailure("1,2,0\n3,\"4\"x,1\n", line: 2, "unexpected text after the closing quote")
        expectFailure("x,y,label\n", line: 1, "a header but no data rows")
        expectFailure("x,y,label\n", options: LoadOptions(header: .present), line: 1,
                      "a header but no data rows")
        expectFailure("1,2,0\n3,4,1\n5,6,1\n", options: LoadOptions(maxElements: 4), line: 3,
                      "too much data")
    }

    @Test func errorDescription() {
        #expect(DataError(file: "a.csv", line: 3, message: "bad").description == "a.csv:3: bad")
        #expect(DataError(file: "a.idx", line: nil, message: "bad").description == "a.idx: bad")
    }
}
