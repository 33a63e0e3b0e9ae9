import Datasets
import Testing

@Suite struct IDXTests {
    /// Two 2x3 u8 images and their labels 7, 2.
    let images = idxFile(type: 0x08, dimensions: [2, 2, 3], payload: [0, 1, 2, 3, 4, 255, 9, 8, 7, 6, 5, 4])
    let labels = idxFile(type: 0x08, dimensions: [2], payload: [7, 2])

    func parse(_ images: [UInt8], _ labels: [UInt8], options: LoadOptions = LoadOptions()) throws(DataError) -> Dataset {
        try DataLoader.parseIDX(images: images, imagesName: "img-idx3", labels: labels,
                                labelsName: "lab-idx1", options: options)
    }

    func failure(_ images: [UInt8], _ labels: [UInt8], options: LoadOptions = LoadOptions()) -> DataError? {
        do {
            _ = try parse(images, labels, options: options)
            return nil
        } catch {
            return error
        }
    }

    @Test func unsignedBytes() throws {
        let d = try parse(images, labels)
        #expect(d.count == 2)
        #expect(d.featureCount == 6)
        #expect(d.features == [0, 1, 2, 3, 4, 255, 9, 8, 7, 6, 5, 4])
        #expect(d.classes == ["2", "7"])
        #expect(d.labels == [1, 0])
        #expect(d.imageShape == ImageShape(channels: 1, height: 2, width: 3))
        expectValid(d)
    }

    @Test func otherElementTypes() throws {
        let i8 = idxFile(type: 0x09, dimensions: [2, 2], payload: [0xFF, 0x80, 0x7F, 0x01])
        #expect(try parse(i8, labels).features == [-1, -128, 127, 1])
        #expect(try parse(i8, labels).imageShape == nil)  // 2 dimensions: flat vectors

        let i16 = idxFile(type: 0x0B, dimensions: [2, 1], payload: [0xFF, 0xFE, 0x01, 0x00])
        #expect(try parse(i16, labels).features == [-2, 256])

        let i32 = idxFile(type: 0x0C, dimensions: [2, 1],
                          payload: bigEndian(UInt32(bitPattern: -70000)) + bigEndian(UInt32(123456)))
        #expect(try parse(i32, labels).features == [-70000, 123456])

        let f32 = idxFile(type: 0x0D, dimensions: [2, 1],
                          payload: bigEndian(Float(1.5).bitPattern) + bigEndian(Float(-0.25).bitPattern))
        #expect(try parse(f32, labels).features == [1.5, -0.25])

        let f64 = idxFile(type: 0x0E, dimensions: [2, 1],
                          payload: bigEndian(Double(2.5).bitPattern) + bigEndian(Double(-1e3).bitPattern))
        #expect(try parse(f64, labels).features == [2.5, -1000])

        // i32 labels sort numerically; f64 labels print like numbers.
        let labels32 = idxFile(type: 0x0C, dimensions: [2],
                               payload: bigEndian(UInt32(10)) + bigEndian(UInt32(9)))
        let d = try parse(images, labels32)
        #expect(d.classes == ["9", "10"])
        #expect(d.labels == [1, 0])
        let labels64 = idxFile(type: 0x0E, dimensions: [2],
                               payload: bigEndian(Double(3).bitPattern) + bigEndian(Double(0.5).bitPattern))
        #expect(try parse(images, labels64).classes == ["0.5", "3"])
    }

    @Test func gzipAndOnDiskWithDerivedLabels() throws {
        #expect(DataLoader.labelsPath(forImages: "/d/train-images-idx3-ubyte.gz")
                == "/d/train-labels-idx1-ubyte.gz")
        #expect(DataLoader.labelsPath(forImages: "t10k-images.idx3-ubyte") == "t10k-labels.idx1-ubyte")
        #expect(DataLoader.labelsPath(forImages: "my-images.idx") == "my-labels.idx")
        #expect(DataLoader.labelsPath(forImages: "/images/data.idx") == nil)

        try withTemporaryDirectory { dir in
            try writeFile(dir + "/train-images-idx3-ubyte.gz", try gzip(images))
            try writeFile(dir + "/train-labels-idx1-ubyte.gz", try gzip(labels))
            let d = try DataLoader.load(path: dir + "/train-images-idx3-ubyte.gz", options: LoadOptions())
            #expect(d.features == [0, 1, 2, 3, 4, 255, 9, 8, 7, 6, 5, 4])
            #expect(d.classes == ["2", "7"])
            #expect(d.imageShape == ImageShape(channels: 1, height: 2, width: 3))

            // Compressed images with plain labels: the other suffix is tried.
            try writeFile(dir + "/t10k-images-idx3-ubyte.gz", try gzip(images))
            try writeFile(dir + "/t10k-labels-idx1-ubyte", labels)
            let mixed = try DataLoader.load(path: dir + "/t10k-images-idx3-ubyte.gz", options: LoadOptions())
            #expect(mixed.labels == [1, 0])

            // An explicit labels path.
            try writeFile(dir + "/pics-idx3", images)
            try writeFile(dir + "/answers", labels)
            let explicit = try DataLoader.load(
                path: dir + "/pics-idx3", options: LoadOptions(labelsPath: dir + "/answers"))
            #expect(explicit.count == 2)
            let underivable = #expect(throws: DataError.self) {
                try DataLoader.load(path: dir + "/pics-idx3", options: LoadOptions())
            }
            #expect(underivable?.message.contains("cannot derive the IDX labels file") == true)

            // A derived labels file that does not exist.
            try writeFile(dir + "/lone-images-idx3-ubyte", images)
            let missing = #expect(throws: DataError.self) {
                try DataLoader.load(path: dir + "/lone-images-idx3-ubyte", options: LoadOptions())
            }
            #expect(missing?.file == dir + "/lone-labels-idx1-ubyte")
            #expect(missing?.message.contains("cannot open") == true)
        }
    }

    @Test func badInput() throws {
        // Wrong magic and unknown element type.
        let wrongMagic = failure([1, 2, 8, 1, 0, 0, 0, 1, 5], labels)
        #expect(wrongMagic?.file == "img-idx3")
        #expect(wrongMagic?.line == nil)
        #expect(wrongMagic?.message.contains("wrong magic number 0x01020801") == true)
        #expect(failure(idxFile(type: 0x0A, dimensions: [2, 1], payload: [1, 2]), labels)?
            .message.contains("unknown element type") == true)
        // Truncated: short magic, short header, short data.
        #expect(failure([0, 0, 8], labels)?.message.contains("truncated IDX file") == true)
        #expect(failure([0, 0, 8, 3, 0, 0, 0, 2], labels)?.message.contains("truncated IDX file") == true)
        #expect(failure(Array(images.dropLast()), labels)?.message.contains("truncated IDX file") == true)
        let shortLabels = failure(images, Array(labels.dropLast()))
        #expect(shortLabels?.file == "lab-idx1")
        #expect(shortLabels?.message.contains("truncated IDX file") == true)
        // A header claiming 10^12 items in a 100-byte file: an error, not an allocation.
        let huge = idxFile(type: 0x08, dimensions: [1_000_000, 1_000_000], payload: [UInt8](repeating: 1, count: 88))
        #expect(huge.count == 100)
        #expect(failure(huge, labels)?.message.contains("truncated IDX file") == true)
        let enormous = idxFile(type: 0x0E, dimensions: [Int](repeating: 0xFFFF_FFFF, count: 8), payload: [])
        #expect(failure(enormous, labels)?.message.contains("truncated IDX file") == true)
        // Count mismatch, extra bytes, 2-D labels, zero items, non-finite values.
        let threeLabels = idxFile(type: 0x08, dimensions: [3], payload: [1, 2, 3])
        let mismatch = failure(images, threeLabels)
        #expect(mismatch?.file == "img-idx3")
        #expect(mismatch?.message.contains("the images file has 2 items but the labels file lab-idx1 has 3") == true)
        #expect(failure(images + [0], labels)?.message.contains("1 unexpected bytes after") == true)
        #expect(failure(images, idxFile(type: 0x08, dimensions: [2, 2], payload: [1, 2, 3, 4]))?
            .message.contains("one value per item") == true)
        #expect(failure(idxFile(type: 0x08, dimensions: [0, 2, 2], payload: []),
                        idxFile(type: 0x08, dimensions: [0], payload: []))?.message.contains("no items") == true)
        let nanImage = idxFile(type: 0x0D, dimensions: [2, 1],
                               payload: bigEndian(Float.nan.bitPattern) + bigEndian(Float(1).bitPattern))
        #expect(failure(nanImage, labels)?.message.contains("not a finite Float") == true)
        let bigDouble = idxFile(type: 0x0E, dimensions: [2, 1],
                                payload: bigEndian(Double(1e300).bitPattern) + bigEndian(Double(1).bitPattern))
        #expect(failure(bigDouble, labels)?.message.contains("not a finite Float") == true)
        let infLabel = idxFile(type: 0x0D, dimensions: [2],
                               payload: bigEndian(Float.infinity.bitPattern) + bigEndian(Float(1).bitPattern))
        #expect(failure(images, infLabel)?.message.contains("label of item 0 is not finite") == true)
        #expect(failure(images, labels, options: LoadOptions(featureCount: 5))?
            .message.contains("expected 5 features, found 6") == true)
        #expect(failure([], labels)?.message == "empty file")
        // Truncated gzip of a valid IDX file.
        let packed = try gzip(images)
        let truncated = failure(Array(packed.prefix(packed.count - 6)), labels)
        #expect(truncated?.message == "truncated gzip stream")
    }
}
