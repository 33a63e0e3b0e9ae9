#if canImport(Glibc)
import Glibc
#endif

extension CPUDevice {
    public func softmaxCrossEntropy(logits: BufferSlice, labels: BufferSlice, rows: Int,
                                    classes: Int, loss: BufferSlice, correct: BufferSlice,
                                    gradient: BufferSlice?, scale: Float) throws {
        checkCrossEntropy(logits: logits, labels: labels, rows: rows, classes: classes, loss: loss,
                          correct: correct, gradient: gradient)
        for r in 0..<rows {
            let z = logits.host + r * classes
            let y = Int(labels.hostInt32[r])
            var zmax = z[0], best = 0
            for c in 1..<max(classes, 1) where z[c] > zmax {
                zmax = z[c]
                best = c
            }
            var sum: Float = 0
            for c in 0..<classes { sum += expf(z[c] - zmax) }
            let lse = zmax + logf(sum)
            loss.host[r] = lse - z[y]
            correct.host[r] = best == y ? 1 : 0
            if let gradient {
                let g = gradient.host + r * classes
                for c in 0..<classes { g[c] = scale * (expf(z[c] - lse) - (c == y ? 1 : 0)) }
            }
        }
    }

    public func accumulateStatistics(loss: BufferSlice, correct: BufferSlice, rows: Int,
                                     stats: BufferSlice, step: Int) throws {
        checkStatistics(loss: loss, correct: correct, rows: rows, stats: stats)
        var l: Float = 0, c: Float = 0
        for r in 0..<rows {
            l += loss.host[r]
            c += correct.host[r]
        }
        let s = stats.host
        s[0] += l
        s[1] += c
        s[2] += Float(rows)
        if !l.isFinite && s[3] < 0 { s[3] = Float(step) }
    }
}
