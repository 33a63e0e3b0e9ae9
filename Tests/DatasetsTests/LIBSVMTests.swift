import Datasets
import Testing

@Suite struct LIBSVMTests {
    func svm(_ text: String, _ options: LoadOptions = LoadOptions()) throws -> Dataset {
        try DataLoader.parse(bytes: utf8(text), name: "t.svm", options: options)
    }

    @Test func denseRowsFromSparseText() throws {
        let d = try svm("1 1:0.5 3:2\n-1 2:1 # a comment\n+1 qid:7 1:-3\n")
        #expect(d.featureCount == 3)
        #expect(d.count == 3)
        #expect(d.features == [0.5, 0, 2, 0, 1, 0, -3, 0, 0])
        #expect(d.classes == ["-1", "1"])  // "+1" and "1" are one class
        #expect(d.labels == [1, 0, 1])
        expectValid(d)
    }

    @Test("a label must be a number: a word means another format, named with its line")
    func wordLabelsAreRefused() {
        #expect(throws: DataError(file: "t.svm", line: 2,
                                  message: "label \"cat\" is not a finite number (LIBSVM labels are numeric)")) {
            try svm("1 1:0.5\ncat 2:1\n")
        }
        #expect(throws: DataError.self) { try svm("nan 1:1\n") }
    }

    @Test("scikit-learn's svmlight extras: qid fields and trailing comments on data rows")
    func qidAndComments() throws {
        let d = try svm("3 qid:1 1:1 2:2 # first query\n1 qid:2 2:4 #x\n")
        #expect(d.features == [1, 2, 0, 4])
        #expect(d.classes == ["1", "3"] && d.labels == [1, 0])
    }

    @Test func featureCountOptionWidensRows() throws {
        let d = try svm("0 2:1\n1 1:4\n", LoadOptions(featureCount: 5))
        #expect(d.featureCount == 5)
        #expect(d.features == [0, 1, 0, 0, 0, 4, 0, 0, 0, 0])
    }

    @Test func commentsEmptyRowsAndTrailingBlankLines() throws {
        let d = try svm("# header comment\n2 1:1\n# between\n10 \n3 2:2.5e1\n\n\n")
        #expect(d.count == 3)
        #expect(d.featureCount == 2)
        #expect(d.features == [1, 0, 0, 0, 0, 25])
        #expect(d.classes == ["2", "3", "10"])
        #expect(d.labels == [0, 2, 1])
    }

    @Test func formatDetectionByNameAndContent() throws {
        let text = "1 1:1 2:2\n0 2:3\n"
        for name in ["a.libsvm", "a.svm", "a.svmlight", "a.svm.gz", "a.txt", "noext"] {
            let d = try DataLoader.parse(bytes: utf8(text), name: name, options: LoadOptions())
            #expect(d.featureCount == 2, "\(name)")
            #expect(d.features == [1, 2, 0, 3], "\(name)")
        }
        let forced = try DataLoader.parse(bytes: utf8(text), name: "a.csv",
                                          options: LoadOptions(format: .libsvm))
        #expect(forced.count == 2)
    }

    @Test func onDiskPlainAndGzip() throws {
        let text = "1 1:1 3:3\n2 2:2\n"
        try withTemporaryDirectory { dir in
            try writeFile(dir + "/d.libsvm", utf8(text))
            try writeFile(dir + "/d.libsvm.gz", try gzip(utf8(text)))
            for name in ["d.libsvm", "d.libsvm.gz"] {
                let d = try DataLoader.load(path: dir + "/" + name, options: LoadOptions())
                #expect(d.features == [1, 0, 3, 0, 2, 0], "\(name)")
                #expect(d.classes == ["1", "2"], "\(name)")
            }
        }
    }

    @Test func badInput() {
        let n = "t.svm"
        expectFailure("", name: n, line: nil, "empty file")
        expectFailure("# only\n# comments\n", name: n, line: nil, "no data rows")
        expectFailure("1 1:1\n0 0:1\n", name: n, line: 2, "feature index 0")
        expectFailure("1 1:1\n0 3:1 2:1\n", name: n, line: 2,
                      "feature index 2 is not greater than the previous index 3")
        expectFailure("1 2:1 2:1\n", name: n, line: 1, "feature index 2 is not greater")
        expectFailure("1 1:1\n0 9:1\n", name: n, options: LoadOptions(featureCount: 8), line: 2,
                      "feature index 9 is past the feature count 8")
        expectFailure("1 1:1\n0 abc\n", name: n, line: 2, "malformed token \"abc\"")
        expectFailure("1 1:\n", name: n, line: 1, "malformed token \"1:\"")
        expectFailure("1 :3\n", name: n, line: 1, "malformed token \":3\"")
        expectFailure("1 x:3\n", name: n, line: 1, "malformed token \"x:3\"")
        expectFailure("1 -2:3\n", name: n, line: 1, "malformed token \"-2:3\"")
        expectFailure("1 1:2\n1:2 3:4\n", name: n, line: 2, "missing label")
        expectFailure("1 1:2\n1 2:x\n", name: n, line: 2, "non-numeric value \"x\" of feature 2")
        expectFailure("1 1:2\n1 2:NaN\n", name: n, line: 2, "value \"NaN\" of feature 2 is not finite")
        expectFailure("1 1:2\n\n1 2:1\n", name: n, line: 2, "blank line inside the data")
        expectFailure("1 99999999999999999999999:1\n", name: n, line: 1, "is too large")
        expectFailure("1\n2\n", name: n, line: nil, "no features")
        expectFailure("1 1:1\n2 4000:1\n", name: n, options: LoadOptions(maxElements: 1000), line: nil,
                      "too much data")
    }

    @Test("a huge index without --features is refused instead of densified")
    func hugeIndexNeedsFeatureCount() {
        let text = "1 100000000:1\n2 1:1\n"
        #expect(throws: DataError.self) { try DataLoader.parseLIBSVM(bytes: Array(text.utf8), name: "wide.svm") }
        do {
            _ = try DataLoader.parseLIBSVM(bytes: Array(text.utf8), name: "wide.svm")
        } catch {
            #expect(error.message.contains("--features"), "\(error)")
        }
    }
}
