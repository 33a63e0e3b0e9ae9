/// One argument of a kernel launch. A slice expands to two OpenCL arguments, the buffer and the
/// element offset, which is how every kernel in `Kernels/` takes its arrays.
enum KernelArgument {
    case slice(BufferSlice)
    case int(Int)
    case float(Float)
    case flag(Bool)
}
