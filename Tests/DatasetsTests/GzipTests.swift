import Datasets
import Philox
import Testing

@Suite struct GzipTests {
    func sample(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var rng = PhiloxStream(seed: seed)
        // Compressible but not trivial: small alphabet.
        return (0..<count).map { _ in UInt8(ascii: "a") + UInt8(rng.nextInt(below: 6)) }
    }

    @Test func roundTrip() throws {
        for count in [0, 1, 100, 300_000] {
            let data = sample(count)
            let packed = try Gzip.compress(data)
            #expect(Gzip.isGzip(packed))
            #expect(packed[0] == 0x1F && packed[1] == 0x8B)
            #expect(try Gzip.decompress(packed, name: "x.gz") == data)
        }
        #expect(!Gzip.isGzip(utf8("1,2,3")))
        #expect(!Gzip.isGzip([0x1F]))
    }

    @Test func concatenatedMembersAndZeroPadding() throws {
        let a = sample(1000, seed: 2)
        let b = sample(5000, seed: 3)
        let joined = try Gzip.compress(a) + Gzip.compress(b, level: 1)
        #expect(try Gzip.decompress(joined, name: "x.gz") == a + b)
        #expect(try Gzip.decompress(joined + [0, 0, 0, 0], name: "x.gz") == a + b)
    }

    @Test func damagedStreams() throws {
        let packed = try Gzip.compress(sample(20_000))
        for cut in [3, 10, packed.count / 2, packed.count - 1] {
            let error = #expect(throws: DataError.self) {
                try Gzip.decompress(Array(packed.prefix(cut)), name: "x.gz")
            }
            #expect(error == DataError(file: "x.gz", line: nil, message: "truncated gzip stream"), "cut \(cut)")
        }
        let trailing = #expect(throws: DataError.self) {
            try Gzip.decompress(packed + utf8("junk"), name: "x.gz")
        }
        #expect(trailing?.message.contains("unexpected data after the gzip stream") == true)
        var corrupt = packed
        corrupt[packed.count - 5] ^= 0xFF  // the stored length
        let bad = #expect(throws: DataError.self) { try Gzip.decompress(corrupt, name: "x.gz") }
        #expect(bad?.message.contains("corrupt gzip stream") == true)
        let limited = #expect(throws: DataError.self) {
            try Gzip.decompress(packed, name: "x.gz", limit: 1000)
        }
        #expect(limited?.message.contains("exceeds the limit") == true)
        // Through the loader: a truncated gzip'd CSV.
        let csv = try gzip(utf8("1,2,0\n3,4,1\n"))
        let error = parseError(bytes: Array(csv.dropLast(4)), name: "d.csv.gz")
        #expect(error == DataError(file: "d.csv.gz", line: nil, message: "truncated gzip stream"))
        // An empty member is an empty file.
        let empty = parseError(bytes: try gzip([]), name: "d.csv.gz")
        #expect(empty?.message.contains("empty file") == true)
    }
}
