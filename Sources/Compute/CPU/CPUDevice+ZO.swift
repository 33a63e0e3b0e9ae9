import Philox

/// The CPU reference of `Kernels/zo.cl`: directions are generated 128 elements at a time on
/// vector lanes (`DirectionSet.fillTile`), and every float operation is the kernel's, in the
/// kernel's order, so the results are bit-identical to OpenCL and CUDA.
extension CPUDevice {
    public func zoInverseNorms(_ set: DirectionSet, into out: BufferSlice) throws {
        set.checkScalars(out, "inverse norms")
        let result = out.host, n = set.dimension
        // The kernel's reduction: 256 work-items, item t summing quads t, t + 256, … lane by
        // lane, then a halving tree. Tiles of 32 quads visit each item's quads in its own order.
        let group = 256
        parallelChunks(set.problems * set.directions, minimumPerChunk: 1, alignment: 1) { range in
            var tile = [Float](repeating: 0, count: 128)
            var partial = [Float](repeating: 0, count: group)
            for g in range {
                let b = g / max(set.directions, 1), j = g % max(set.directions, 1)
                for t in 0..<group { partial[t] = 0 }
                tile.withUnsafeMutableBufferPointer { z in
                    for t in 0..<set.tiles {
                        let count = min(128, n - t * 128)
                        set.fillTile(problem: b, direction: j, tile: t, count: count, into: z)
                        for e in 0..<count {
                            let item = (t * 32 + e / 4) % group
                            partial[item] = partial[item] + z[e] * z[e]
                        }
                    }
                }
                var w = group / 2
                while w > 0 {
                    for t in 0..<w { partial[t] = partial[t] + partial[t + w] }
                    w /= 2
                }
                result[g] = 1 / partial[0].squareRoot()
            }
        }
    }

    public func zoPerturb(_ set: DirectionSet, source: BufferSlice, sourceProblemStride: Int, destination: BufferSlice,
                          destinationProblemStride: Int, destinationDirectionStride: Int, inverseNorms: BufferSlice?,
                          scale: Float) throws {
        set.checkPerturb(source: source, sourceProblemStride: sourceProblemStride, destination: destination,
                         destinationProblemStride: destinationProblemStride,
                         destinationDirectionStride: destinationDirectionStride, inverseNorms: inverseNorms)
        let src = source.host, dst = destination.host, n = set.dimension, tiles = set.tiles
        let inverse = inverseNorms?.host
        parallelChunks(set.problems * set.directions * tiles, minimumPerChunk: 64, alignment: 1) { range in
            var tile = [Float](repeating: 0, count: 128)
            tile.withUnsafeMutableBufferPointer { z in
                for index in range {
                    let t = index % tiles, direction = index / tiles
                    let b = direction / set.directions, j = direction % set.directions
                    let from = src + b * sourceProblemStride + t * 128
                    let to = dst + b * destinationProblemStride + j * destinationDirectionStride + t * 128
                    let count = min(128, n - t * 128)
                    if scale == 0 {
                        for e in 0..<count { to[e] = from[e] }
                        continue
                    }
                    let c = set.distribution.isNormalised ? scale * (inverse?[b * set.directions + j] ?? 1) : scale
                    set.fillTile(problem: b, direction: j, tile: t, count: count, into: z)
                    for e in 0..<count { to[e] = from[e] + c * z[e] }
                }
            }
        }
    }

    public func zoCombine(_ set: DirectionSet, coefficients: BufferSlice, inverseNorms: BufferSlice?, decay: Float,
                          accumulate: Bool, into out: BufferSlice) throws {
        set.checkCombine(coefficients: coefficients, inverseNorms: inverseNorms, out: out)
        let result = out.host, coef = coefficients.host, inverse = inverseNorms?.host
        let n = set.dimension, tiles = set.tiles, q = set.directions
        parallelChunks(set.problems * tiles, minimumPerChunk: 16, alignment: 1) { range in
            var tile = [Float](repeating: 0, count: 128)
            var acc = [Float](repeating: 0, count: 128)
            for index in range {
                let t = index % tiles, b = index / tiles
                let base = result + b * n + t * 128
                let count = min(128, n - t * 128)
                for e in 0..<count { acc[e] = accumulate ? decay * base[e] : 0 }
                tile.withUnsafeMutableBufferPointer { z in
                    for j in 0..<q {
                        let a = coef[b * q + j]
                        let c = set.distribution.isNormalised ? a * (inverse?[b * q + j] ?? 1) : a
                        set.fillTile(problem: b, direction: j, tile: t, count: count, into: z)
                        for e in 0..<count { acc[e] = acc[e] + c * z[e] }
                    }
                }
                for e in 0..<count { base[e] = acc[e] }
            }
        }
    }

    public func zoCoefficients(_ values: BufferSlice, layout: DifferenceLayout, factor: Float, restore: Float,
                               weight: Float, sign: Bool, gradients: BufferSlice, coefficients: BufferSlice) throws {
        layout.checkOperands(values: values, gradients: gradients, coefficients: coefficients)
        let f = values.host, g = gradients.host, c = coefficients.host, q = layout.directions
        for b in 0..<layout.problems {
            let base = f + b * layout.stride
            for j in 0..<q {
                let plus = layout.central ? base[2 * j] : base[1 + j]
                let minus = layout.central ? base[2 * j + 1] : base[0]
                let value = factor * (plus - minus)
                let h: Float = sign ? (value > 0 ? 1 : (value < 0 ? -1 : 0)) : value
                g[b * q + j] = value
                c[b * q + j] = (j == q - 1 ? restore : 0) + weight * h
            }
        }
    }

    public func zoProjectedStep(_ step: ZOProjectedStep, x: BufferSlice, g: BufferSlice, m: BufferSlice, v: BufferSlice,
                                vhat: BufferSlice, bounds: (lower: BufferSlice, upper: BufferSlice)?) throws {
        checkProjectedStep(step, x: x, g: g, m: m, v: v, vhat: vhat, bounds: bounds)
        let xs = x.host, gs = g.host, ms = m.host, vs = v.host, hs = vhat.host
        let lower = bounds?.lower.host, upper = bounds?.upper.host
        let rate = step.rate, beta1 = step.beta1, beta2 = step.beta2
        parallelChunks(x.count) { range in
            for i in range {
                let gi = gs[i]
                let delta: Float
                switch step.method {
                case .sgd:
                    delta = gi
                case .sign:
                    delta = gi > 0 ? 1 : (gi < 0 ? -1 : 0)
                case .adamm:
                    let mi = beta1 * ms[i] + (1 - beta1) * gi
                    let vi = beta2 * vs[i] + (1 - beta2) * (gi * gi)
                    let hi = hs[i] > vi ? hs[i] : vi
                    ms[i] = mi
                    vs[i] = vi
                    hs[i] = hi
                    delta = mi / hi.squareRoot()
                }
                var xi = xs[i] - rate * delta
                if let lower, let upper {
                    xi = xi < lower[i] ? lower[i] : (xi > upper[i] ? upper[i] : xi)
                }
                xs[i] = xi
            }
        }
    }

    public func attackObjective(logits: BufferSlice, labels: BufferSlice, points: BufferSlice, originals: BufferSlice,
                                rows: Int, dimension: Int, classes: Int, rowsPerProblem: Int, weight: Float,
                                kappa: Float, values: BufferSlice, margins: BufferSlice,
                                distortions: BufferSlice) throws {
        checkAttackObjective(logits: logits, labels: labels, points: points, originals: originals, rows: rows,
                             dimension: dimension, classes: classes, rowsPerProblem: rowsPerProblem, values: values,
                             margins: margins, distortions: distortions)
        let z = logits.host, t = labels.hostInt32, p = points.host, o = originals.host
        let out = values.host, marginOut = margins.host, distortionOut = distortions.host
        parallelSamples(rows, floatsPerSample: dimension) { range in
            for r in range {
                let b = r / rowsPerProblem, label = Int(t[b])
                let row = z + r * classes
                var other = -Float.infinity
                for c in 0..<classes where c != label && row[c] > other { other = row[c] }
                let margin = row[label] - other
                var sum: Float = 0
                let point = p + r * dimension, original = o + b * dimension
                for i in 0..<dimension {
                    let e = point[i] - original[i]
                    sum = sum + e * e
                }
                marginOut[r] = margin
                distortionOut[r] = sum
                out[r] = weight * (margin > -kappa ? margin : -kappa) + sum
            }
        }
    }

    public func attackTrack(problems: Int, rowsPerProblem: Int, iteration: Int, margins: BufferSlice,
                            distortions: BufferSlice, firstIteration: BufferSlice, firstDistortion: BufferSlice) throws {
        checkAttackTrack(problems: problems, rowsPerProblem: rowsPerProblem, margins: margins, distortions: distortions,
                         firstIteration: firstIteration, firstDistortion: firstDistortion)
        let marginIn = margins.host, distortionIn = distortions.host
        let first = firstIteration.host, firstL2 = firstDistortion.host
        for b in 0..<problems where first[b] < 0 && marginIn[b * rowsPerProblem] < 0 {
            first[b] = Float(iteration)
            firstL2[b] = distortionIn[b * rowsPerProblem]
        }
    }

    public func attackBroadcast(images: BufferSlice, count: Int, deltas: BufferSlice, candidates: Int, dimension: Int,
                                lower: BufferSlice, upper: BufferSlice, into out: BufferSlice) throws {
        checkBroadcast(images: images, count: count, deltas: deltas, candidates: candidates, dimension: dimension,
                       lower: lower, upper: upper, out: out)
        let x = images.host, delta = deltas.host, lo = lower.host, up = upper.host, result = out.host
        parallelSamples(count * candidates, floatsPerSample: dimension) { range in
            for row in range {
                let n = row / candidates, j = row % candidates
                for i in 0..<dimension {
                    let value = x[n * dimension + i] + delta[j * dimension + i]
                    result[row * dimension + i] = value < lo[i] ? lo[i] : (value > up[i] ? up[i] : value)
                }
            }
        }
    }
}
