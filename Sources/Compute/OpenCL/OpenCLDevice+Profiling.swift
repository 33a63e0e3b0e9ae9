import COpenCL

extension OpenCLDevice {
    /// Runs `body` and returns the device time, in seconds, of the kernels it launched (from
    /// `CL_PROFILING_COMMAND_START/END`), so host overhead and queueing delays are left out.
    public func deviceTime(_ body: () throws -> Void) throws -> Double {
        lock.withLock { profiledEvents = [] }
        var caught: (any Error)?
        do { try body() } catch { caught = error }
        let events = lock.withLock { () -> [cl_event] in
            let events = profiledEvents ?? []
            profiledEvents = nil
            return events
        }
        defer { for event in events { clReleaseEvent(event) } }
        if let caught { throw caught }
        var seconds = 0.0
        for event in events { seconds += try eventSeconds(event) }
        return seconds
    }
}

/// Device time of a finished-or-pending event, waiting for it.
func eventSeconds(_ event: cl_event) throws(ComputeError) -> Double {
    var list: cl_event? = event
    try check(clWaitForEvents(1, &list), "clWaitForEvents")
    var start: cl_ulong = 0, end: cl_ulong = 0
    try check(clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START), 8, &start, nil),
              "clGetEventProfilingInfo")
    try check(clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END), 8, &end, nil),
              "clGetEventProfilingInfo")
    return Double(end &- start) * 1e-9
}
