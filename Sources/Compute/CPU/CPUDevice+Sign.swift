import Philox

extension CPUDevice {
    public func signPack(_ x: BufferSlice, into words: BufferSlice, noise: Float, key: PhiloxKey) throws {
        checkSignWords(words, count: x.count)
        let values = x.host, out = words.hostUInt32, n = x.count
        parallelChunks((n + 31) / 32, minimumPerChunk: 1024, alignment: 1) { range in
            for w in range {
                // A word's 32 normals are eight Philox blocks: one vector pass (normal j of block
                // b is element 4b + j), bit for bit the scalar maps.
                let z = noise != 0 ? PhiloxSIMD.normals(PhiloxSIMD.blocks(key, first: UInt64(w * 8)))
                    : (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                var bits: UInt32 = 0
                let base = w * 32
                for b in 0..<8 {
                    for j in 0..<4 {
                        let i = base + b * 4 + j
                        guard i < n else { break }
                        let normal: Float
                        switch j {
                        case 0: normal = z.0[b]
                        case 1: normal = z.1[b]
                        case 2: normal = z.2[b]
                        default: normal = z.3[b]
                        }
                        let v = noise != 0 ? values[i] + noise * normal : values[i]
                        bits |= (v < 0 ? 1 : 0) << UInt32(b * 4 + j)
                    }
                }
                out[w] = bits
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
        for i in 0..<n {
            var negative = 0
            for m in 0..<workers { negative += Int((bits[m * stride + i / 32] >> UInt32(i % 32)) & 1) }
            let positive = workers - negative
            if positive != negative {
                result[i] = positive > negative ? 1 : -1
            } else {
                switch tie {
                case .zero: result[i] = 0
                case .plus: result[i] = 1
                case .random: result[i] = key.rademacher(UInt64(i))
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
