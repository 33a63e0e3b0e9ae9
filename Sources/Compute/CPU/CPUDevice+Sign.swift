import Philox

extension CPUDevice {
    public func signPack(_ x: BufferSlice, into words: BufferSlice, noise: Float, key: PhiloxKey) throws {
        checkSignWords(words, count: x.count)
        let values = x.host, out = words.hostUInt32, n = x.count
        // A word's 32 normals are eight Philox blocks (normal j of block b is element 4b + j); the
        // C vector library packs two words a pass, bit for bit the scalar maps.
        parallelChunks((n + 31) / 32, minimumPerChunk: 1024, alignment: 2) { range in
            PhiloxLanes.signPack(values, count: n, firstWord: range.lowerBound, words: range.count,
                                 into: out + range.lowerBound, noise: noise, key: key)
        }
    }

    public func signUnpack(_ words: BufferSlice, ties: BufferSlice?, into x: BufferSlice, scale: Float) throws {
        checkSignWords(words, count: x.count)
        if let ties { checkSignWords(ties, count: x.count) }
        let bits = words.hostUInt32, tieBits = ties?.hostUInt32, out = x.host, n = x.count
        parallelChunks((n + 31) / 32, minimumPerChunk: 1024, alignment: 1) { range in
            PhiloxLanes.signUnpack(bits, ties: tieBits, count: n, firstWord: range.lowerBound, words: range.count,
                                   into: out, scale: scale)
        }
    }

    public func signVoteBits(_ words: BufferSlice, workers: Int, stride: Int, count n: Int, signs: BufferSlice,
                             ties: BufferSlice?, tie: TieRule, key: PhiloxKey, tieOffset: Int) throws {
        checkVoteBits(words, workers: workers, stride: stride, count: n, signs: signs, ties: ties, tie: tie,
                      tieOffset: tieOffset)
        let bits = words.hostUInt32, signBits = signs.hostUInt32, tieBits = ties?.hostUInt32
        parallelChunks((n + 31) / 32, minimumPerChunk: 512, alignment: 1) { range in
            PhiloxLanes.signVoteBits(bits, workers: workers, stride: stride, count: n, firstWord: range.lowerBound,
                                     words: range.count, signs: signBits, ties: tieBits, tie: tie.rawValue, key: key,
                                     tieOffset: tieOffset)
        }
    }

    public func signVote(_ words: BufferSlice, workers: Int, stride: Int, into out: BufferSlice, tie: TieRule,
                         key: PhiloxKey, tieOffset: Int) throws {
        let n = out.count, perWorker = (n + 31) / 32
        checkVote(words, workers: workers, stride: stride, count: n, tieOffset: tieOffset)
        let bits = words.hostUInt32, result = out.host
        // Word by word over the cores, each worker's word read once (the C vector library).
        parallelChunks(perWorker, minimumPerChunk: 512, alignment: 1) { range in
            PhiloxLanes.signVote(bits, workers: workers, stride: stride, count: n, firstWord: range.lowerBound,
                                 words: range.count, into: result, tie: tie.rawValue, key: key, tieOffset: tieOffset)
        }
    }

    public func errorFeedback(_ g: BufferSlice, gamma: Float, memory e: BufferSlice, norm: BufferSlice,
                              into out: BufferSlice) throws {
        checkSameCount(g, e, "error feedback")
        checkSameCount(g, out, "error feedback")
        precondition(norm.count >= 1, "error feedback needs one float of workspace")
        let gradient = g.host, memory = e.host, result = out.host, n = g.count
        // ‖p‖₁ from fixed blocks' partial sums, added in block order: the same on any core count.
        let block = PhiloxLanes.errorFeedbackBlock, blocks = (n + block - 1) / block
        var sums = [Float](repeating: 0, count: blocks)
        sums.withUnsafeMutableBufferPointer { partial in
            guard let partial = partial.baseAddress else { return }
            parallelChunks(blocks, minimumPerChunk: 4, alignment: 1) { range in
                PhiloxLanes.errorFeedbackAccumulate(gradient, gamma: gamma, memory: memory, count: n,
                                                    firstBlock: range.lowerBound, blocks: range.count,
                                                    sums: partial + range.lowerBound)
            }
        }
        let sum = sums.reduce(0, +)
        norm.host[0] = sum
        let scale = sum / Float(max(n, 1))
        parallelChunks(n) { range in
            PhiloxLanes.errorFeedbackCompress(memory, scale: scale, into: result, range: range)
        }
    }

    public func coordinateMedian(_ x: BufferSlice, workers: Int, stride: Int, into out: BufferSlice) throws {
        precondition(workers >= 1 && stride >= out.count && x.count >= (workers - 1) * stride + out.count,
                     "median operands too small")
        let values = x.host, result = out.host
        var column = [Float](repeating: 0, count: workers)
        for i in 0..<out.count {
            for m in 0..<workers { column[m] = values[m * stride + i] }
            column.sort()
            result[i] = workers % 2 == 1 ? column[workers / 2] : 0.5 * (column[workers / 2 - 1] + column[workers / 2])
        }
    }
}
