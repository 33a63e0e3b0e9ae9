extension CPUDevice {
    public func sampleDots(_ x: BufferSlice, _ y: BufferSlice, samples: Int, perSample: Int, into out: BufferSlice,
                           accumulate: Bool) throws {
        checkSamples(x, samples: samples, perSample: perSample, out)
        checkSamples(y, samples: samples, perSample: perSample, out)
        let a = x.host, b = y.host, result = out.host
        // Eight partial sums a sample (vector lanes, no serial add chain), samples split over the
        // cores: the per-sample norms of a ghost-clipped step are whole passes over activations.
        parallelChunks(samples, minimumPerChunk: max(1, (1 << 15) / max(perSample, 1)), alignment: 1) { range in
            for s in range {
                let u = a + s * perSample, v = b + s * perSample
                var lanes = SIMD8<Float>()
                var j = 0
                while j + 8 <= perSample {
                    let p = UnsafeRawPointer(u + j).loadUnaligned(as: SIMD8<Float>.self)
                    let q = UnsafeRawPointer(v + j).loadUnaligned(as: SIMD8<Float>.self)
                    lanes += p * q
                    j += 8
                }
                var sum = lanes.sum()
                while j < perSample {
                    sum += u[j] * v[j]
                    j += 1
                }
                result[s] = (accumulate ? result[s] : 0) + sum
            }
        }
    }

    public func linearGhostNorms(inputSq: BufferSlice, outputSq: BufferSlice, samples: Int, hasBias: Bool,
                                 into norms: BufferSlice) throws {
        checkSamples(inputSq, samples: samples, perSample: 1, norms)
        checkSamples(outputSq, samples: samples, perSample: 1, norms)
        let a = inputSq.host, b = outputSq.host, out = norms.host
        for i in 0..<samples { out[i] += a[i] * b[i] + (hasBias ? b[i] : 0) }
    }

    public func clipFactors(_ norms: BufferSlice, samples: Int, maxNorm: Float, scale: Float,
                            into factors: BufferSlice) throws {
        checkSamples(norms, samples: samples, perSample: 1, factors)
        let n = norms.host, out = factors.host
        for i in 0..<samples { out[i] = scale * min(1, maxNorm / (n[i].squareRoot() + 1e-6)) }
    }

    public func scaleSamples(_ x: BufferSlice, samples: Int, perSample: Int, factors: BufferSlice) throws {
        checkSamples(x, samples: samples, perSample: perSample, factors)
        let values = x.host, c = factors.host
        for s in 0..<samples {
            let row = values + s * perSample
            for j in 0..<perSample { row[j] *= c[s] }
        }
    }
}
