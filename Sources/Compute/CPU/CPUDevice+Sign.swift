import Philox

extension CPUDevice {
    public func signPack(_ x: BufferSlice, into words: BufferSlice, noise: Float, key: PhiloxKey) throws {
        checkSignWords(words, count: x.count)
        let values = x.host, out = words.hostUInt32, n = x.count
        let tileWords = 64
        parallelChunks((n + 31) / 32, minimumPerChunk: 1024, alignment: tileWords) { range in
            // A word's 32 normals are eight Philox blocks (normal j of block b is element 4b + j);
            // the noise of 64 words at a time comes from the vector fill, already times b (the
            // same product b·ξ, bit for bit the scalar maps), into a tile on the stack.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: tileWords * 32) { tile in
                guard let noisy = tile.baseAddress else { return }
                var w = range.lowerBound
                while w < range.upperBound {
                    let count = min(tileWords, range.upperBound - w)
                    if noise != 0 {
                        PhiloxLanes.fill(noisy, first: UInt64(w * 8), blocks: count * 8, key: key, .normal, scale: noise,
                                         accumulate: false)
                    }
                    for t in 0..<count {
                        let base = (w + t) * 32
                        var bits: UInt32 = 0
                        for j in 0..<min(32, n - base) {
                            let v = noise != 0 ? values[base + j] + noisy[t * 32 + j] : values[base + j]
                            bits |= (v < 0 ? 1 : 0) << UInt32(j)
                        }
                        out[w + t] = bits
                    }
                    w += count
                }
            }
        }
    }

    public func signUnpack(_ words: BufferSlice, into x: BufferSlice, scale: Float) throws {
        checkSignWords(words, count: x.count)
        let bits = words.hostUInt32, out = x.host
        for i in 0..<x.count { out[i] = (bits[i / 32] >> UInt32(i % 32)) & 1 == 1 ? -scale : scale }
    }

    public func signVote(_ words: BufferSlice, workers: Int, stride: Int, into out: BufferSlice, tie: TieRule,
                         key: PhiloxKey) throws {
        let n = out.count, perWorker = (n + 31) / 32
        precondition(workers >= 1 && stride >= perWorker && words.count >= (workers - 1) * stride + perWorker,
                     "packed signs too small for \(workers) workers")
        words.expect(.uint32, "packed signs")
        let bits = words.hostUInt32, result = out.host
        // Word by word over the cores: each worker's word is read once and its 32 bits counted
        // into per-lane tallies.
        parallelChunks(perWorker, minimumPerChunk: 512, alignment: 1) { range in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: 32) { negative in
                for w in range {
                    negative.initialize(repeating: 0)
                    for m in 0..<workers {
                        let word = bits[m * stride + w]
                        for j in 0..<32 { negative[j] &+= Int32((word >> UInt32(j)) & 1) }
                    }
                    for j in 0..<min(32, n - w * 32) {
                        let i = w * 32 + j
                        let against = Int(negative[j]), inFavour = workers - against
                        if inFavour != against {
                            result[i] = inFavour > against ? 1 : -1
                        } else {
                            switch tie {
                            case .zero: result[i] = 0
                            case .plus: result[i] = 1
                            case .random: result[i] = key.rademacher(UInt64(i))
                            }
                        }
                    }
                }
            }
        }
    }

    public func errorFeedback(_ g: BufferSlice, gamma: Float, memory e: BufferSlice, norm: BufferSlice,
                              into out: BufferSlice) throws {
        checkSameCount(g, e, "error feedback")
        checkSameCount(g, out, "error feedback")
        precondition(norm.count >= 1, "error feedback needs one float of workspace")
        let gradient = g.host, memory = e.host, result = out.host, n = g.count
        var sum: Float = 0
        for i in 0..<n {
            let p = gamma * gradient[i] + memory[i]
            memory[i] = p
            sum += abs(p)
        }
        norm.host[0] = sum
        let scale = sum / Float(max(n, 1))
        for i in 0..<n {
            let p = memory[i]
            let delta = p < 0 ? -scale : scale
            result[i] = delta
            memory[i] = p - delta
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
