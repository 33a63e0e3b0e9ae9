#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An in-place iterative radix-2 complex FFT in double precision, for the privacy accountant's
/// circular convolutions (a distribution composed with itself thousands of times is one
/// transform, a power per frequency and one inverse transform).
struct FourierTransform {
    /// Points, a power of two.
    let count: Int
    private let cosines: [Double], sines: [Double]

    init(count: Int) {
        precondition(count >= 2 && count & (count - 1) == 0, "the FFT length must be a power of two")
        self.count = count
        let half = count / 2
        // Twiddles e^{−2πik/n} for k < n/2, computed directly (no recurrence drift).
        cosines = (0..<half).map { cos(-2 * Double.pi * Double($0) / Double(count)) }
        sines = (0..<half).map { sin(-2 * Double.pi * Double($0) / Double(count)) }
    }

    /// Transforms (re, im) in place; `inverse` conjugates the twiddles and divides by n.
    func transform(re: inout [Double], im: inout [Double], inverse: Bool = false) {
        precondition(re.count == count && im.count == count, "FFT buffers of the wrong length")
        let n = count
        re.withUnsafeMutableBufferPointer { re in
            im.withUnsafeMutableBufferPointer { im in
                cosines.withUnsafeBufferPointer { cosines in
                    sines.withUnsafeBufferPointer { sines in
                        // Bit-reversal permutation.
                        var j = 0
                        for i in 1..<n {
                            var bit = n >> 1
                            while j & bit != 0 {
                                j ^= bit
                                bit >>= 1
                            }
                            j |= bit
                            if i < j {
                                re.swapAt(i, j)
                                im.swapAt(i, j)
                            }
                        }
                        let sign: Double = inverse ? -1 : 1
                        var length = 2
                        while length <= n {
                            let half = length / 2, stride = n / length
                            var start = 0
                            while start < n {
                                for k in 0..<half {
                                    let wr = cosines[k * stride], wi = sign * sines[k * stride]
                                    let a = start + k, b = a + half
                                    let tr = re[b] * wr - im[b] * wi
                                    let ti = re[b] * wi + im[b] * wr
                                    re[b] = re[a] - tr
                                    im[b] = im[a] - ti
                                    re[a] += tr
                                    im[a] += ti
                                }
                                start += length
                            }
                            length <<= 1
                        }
                        if inverse {
                            let scale = 1 / Double(n)
                            for i in 0..<n {
                                re[i] *= scale
                                im[i] *= scale
                            }
                        }
                    }
                }
            }
        }
    }
}
