import Dispatch

/// Splits `0..<count` into contiguous chunks run on all cores when the work is large enough to
/// pay for the hand-off (memory-bound loops over a whole parameter vector), else runs inline.
///
/// `body(range)` must only touch indices in its range.
func parallelChunks(_ count: Int, minimumPerChunk: Int = 1 << 16, alignment: Int = 16,
                    _ body: (Range<Int>) -> Void) {
    let chunks = min(CPUThreads.count, count / minimumPerChunk)
    guard chunks > 1 else {
        body(0..<count)
        return
    }
    // Chunk boundaries on multiples of 16 floats keep each chunk's vectors on whole cache lines.
    let size = ((count + chunks - 1) / chunks + alignment - 1) / alignment * alignment
    withoutActuallyEscaping(body) { body in
        // The chunks write disjoint ranges, which is what makes sharing the closure safe.
        nonisolated(unsafe) let work = body
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = chunk * size
            if start < count { work(start..<min(start + size, count)) }
        }
    }
}

/// Splits the samples `0..<batch` of a batched operation across the cores when the work
/// (`floatsPerSample` touched per sample) is large enough; each chunk gets whole samples, whose
/// outputs never overlap another sample's.
func parallelSamples(_ batch: Int, floatsPerSample: Int, _ body: (Range<Int>) -> Void) {
    parallelChunks(batch, minimumPerChunk: max(1, (1 << 16) / max(floatsPerSample, 1)), alignment: 1, body)
}


#if canImport(Glibc)
import Glibc
#endif
