import Datasets
import Philox
import Testing

/// Random damage to valid files never crashes a loader: each result is a `DataError` or a data
/// set that keeps every promise (`Dataset.validationProblem() == nil`).
@Suite struct FuzzTests {
    enum Kind { case csv, libsvm, idxImages, idxLabels }

    struct Seed {
        var name: String
        var kind: Kind
        var bytes: [UInt8]
        var gzipped: Bool
    }

    static let idxImages = idxFile(type: 0x08, dimensions: [4, 3, 2], payload: (0..<24).map { UInt8($0 * 10) })
    static let idxLabels = idxFile(type: 0x08, dimensions: [4], payload: [3, 1, 4, 1])
    static let idxFloatImages = idxFile(
        type: 0x0D, dimensions: [4, 2],
        payload: [1.5, -2, 0, 3.25, 8, 9, -1e3, 0.5].flatMap { bigEndian(Float($0).bitPattern) })

    static func seeds() throws -> [Seed] {
        let csvHeader = utf8("x0,x1,x2,label\n0.5,1,2,cat\n3,-4.25,5e-1,dog\n6,7,8,cat\n1,1,1,bird\n")
        let csvPlain = utf8("1,2,3,0\r\n4,5,6,1\r\n7,8,9,10\r\n\"1\",2,3,\"2\"\r\n")
        let csvTabs = utf8("7\t0.1\t0.2\n8\t0.3\t0.4\n7\t0.5\t0.6\n")
        let svm = utf8("1 1:0.5 3:2 # c\n-1 2:1\n+1 qid:4 1:-3 4:1e2\n# comment\n2 5:7\n")
        var seeds = [
            Seed(name: "a.csv", kind: .csv, bytes: csvHeader, gzipped: false),
            Seed(name: "b.csv", kind: .csv, bytes: csvPlain, gzipped: false),
            Seed(name: "c.tsv", kind: .csv, bytes: csvTabs, gzipped: false),
            Seed(name: "d.svm", kind: .libsvm, bytes: svm, gzipped: false),
            Seed(name: "e-images-idx3", kind: .idxImages, bytes: idxImages, gzipped: false),
            Seed(name: "e-labels-idx1", kind: .idxLabels, bytes: idxLabels, gzipped: false),
            Seed(name: "f-images-idx3", kind: .idxImages, bytes: idxFloatImages, gzipped: false),
        ]
        for seed in seeds.prefix(5) {
            seeds.append(Seed(name: seed.name + ".gz", kind: seed.kind, bytes: seed.bytes, gzipped: true))
        }
        return seeds
    }

    static let interesting: [UInt8] = Array("0123456789,;:\t\n\r \"#.-+eE".utf8) + [0x00, 0xFF, 0x1F, 0x8B, 0x08]

    static func mutate(_ input: [UInt8], rng: inout PhiloxStream) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + rng.nextInt(below: 4)) {
            let n = bytes.count
            switch rng.nextInt(below: 7) {
            case 0 where n > 0:  // overwrite a byte
                bytes[rng.nextInt(below: n)] = rng.nextInt(below: 2) == 0
                    ? interesting[rng.nextInt(below: interesting.count)] : UInt8(rng.nextInt(below: 256))
            case 1 where n > 0:  // flip a bit
                bytes[rng.nextInt(below: n)] ^= UInt8(1 << rng.nextInt(below: 8))
            case 2:  // insert bytes
                let at = rng.nextInt(below: n + 1)
                let run = (0..<(1 + rng.nextInt(below: 4))).map { _ in interesting[rng.nextInt(below: interesting.count)] }
                bytes.insert(contentsOf: run, at: at)
            case 3 where n > 0:  // delete a range
                let at = rng.nextInt(below: n)
                let length = min(n - at, 1 + rng.nextInt(below: 8))
                bytes.removeSubrange(at..<(at + length))
            case 4 where n > 0:  // truncate
                bytes.removeLast(rng.nextInt(below: n) + 1)
            case 5:  // duplicate a line
                let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
                if !lines.isEmpty {
                    let line = lines[rng.nextInt(below: lines.count)]
                    let at = rng.nextInt(below: lines.count)
                    var copy = lines.map(Array.init)
                    copy.insert(Array(line), at: at)
                    bytes = Array(copy.joined(separator: [0x0A]))
                }
            case 6 where n >= 8:  // set a big-endian word to an extreme (IDX sizes)
                let at = rng.nextInt(below: min(n - 3, 16))
                let word: [UInt8] = [[0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0], [0x7F, 0, 0, 1], [0, 0x0F, 0x42, 0x40]][rng.nextInt(below: 4)]
                bytes.replaceSubrange(at..<(at + 4), with: word)
            default:
                break
            }
        }
        return bytes
    }

    @Test func mutatedFilesGiveErrorsOrValidData() throws {
        let seeds = try Self.seeds()
        let options = LoadOptions(maxElements: 1 << 16)
        var rng = PhiloxStream(seed: 2024, stream: 77)
        var parsed = 0
        var rejected = 0
        let iterations = 3000
        for i in 0..<iterations {
            let seed = seeds[i % seeds.count]
            var bytes: [UInt8]
            if seed.gzipped {
                // Half the time damage the text and compress it, half the time the compressed bytes.
                if rng.nextInt(below: 2) == 0 {
                    bytes = try Gzip.compress(Self.mutate(seed.bytes, rng: &rng))
                } else {
                    bytes = Self.mutate(try Gzip.compress(seed.bytes), rng: &rng)
                }
            } else {
                bytes = Self.mutate(seed.bytes, rng: &rng)
            }
            let result: Result<Dataset, DataError>
            switch seed.kind {
            case .csv, .libsvm:
                // Sometimes let the loader detect the format from the name or the content.
                var o = options
                if rng.nextInt(below: 4) != 0 { o.format = seed.kind == .csv ? .csv : .libsvm }
                if rng.nextInt(below: 5) == 0 { o.labelColumn = .first }
                if rng.nextInt(below: 7) == 0 { o.header = .present }
                let name = o.format == nil && rng.nextInt(below: 2) == 0 ? "unnamed" : seed.name
                result = Result { () throws(DataError) -> Dataset in
                    try DataLoader.parse(bytes: bytes, name: name, options: o)
                }
            case .idxImages:
                result = Result { () throws(DataError) -> Dataset in
                    try DataLoader.parseIDX(images: bytes, imagesName: seed.name, labels: Self.idxLabels,
                                            labelsName: "labels-idx1", options: options)
                }
            case .idxLabels:
                result = Result { () throws(DataError) -> Dataset in
                    try DataLoader.parseIDX(images: Self.idxImages, imagesName: "images-idx3", labels: bytes,
                                            labelsName: seed.name, options: options)
                }
            }
            switch result {
            case .success(let data):
                parsed += 1
                let problem = data.validationProblem()
                #expect(problem == nil, "\(seed.name) mutation \(i): \(problem ?? "")")
                #expect(data.count > 0 && data.features.count == data.count * data.featureCount)
                #expect(data.features.allSatisfy { $0.isFinite })
                #expect(data.labels.allSatisfy { $0 >= 0 && Int($0) < data.classes.count })
            case .failure(let error):
                rejected += 1
                #expect(!error.message.isEmpty)
                #expect(!error.description.contains("\n"), "one line: \(error.description)")
                if let line = error.line { #expect(line >= 1) }
            }
        }
        // Both outcomes happen a fair amount, so the mutations neither always break nor never do.
        #expect(parsed > iterations / 10, "parsed \(parsed)")
        #expect(rejected > iterations / 10, "rejected \(rejected)")
    }
}
