extension KernelDevice {
    /// Runs `body` and returns the device time, in seconds, of the kernels it launched (OpenCL
    /// profiling events, CUDA events around each launch), so host overhead and queueing delays
    /// are left out.
    public func deviceTime(_ body: () throws -> Void) throws -> Double {
        runtime.beginProfiling()
        do {
            try body()
        } catch {
            _ = try? runtime.endProfiling()
            throw error
        }
        return try runtime.endProfiling()
    }
}
