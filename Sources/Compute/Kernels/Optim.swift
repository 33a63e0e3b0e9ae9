extension KernelFamily {
    /// `Kernels/optim.cl`: SGD, Adam/AdamW/AMSGrad and RMSprop updates over a flat buffer.
    public static let optim = KernelFamily(name: "optim", functions: ["sgd_update", "adam_update", "rmsprop_update"])
}

extension KernelDevice {
    public func sgdUpdate(_ s: SGDStep, parameters: BufferSlice, gradients: BufferSlice,
                          momentum: BufferSlice) throws {
        let n = parameters.count
        s.checkOperands(parameters: parameters, gradients: gradients, momentum: momentum)
        try launchLinear("optim", "sgd_update", count: n, [
            .int(n), .slice(parameters), .slice(gradients), .slice(s.momentum == 0 ? gradients : momentum),
            .float(s.learningRate), .float(s.momentum), .float(s.dampening), .float(s.weightDecay),
            .flag(s.nesterov), .flag(s.isFirstStep),
        ])
    }

    public func adamUpdate(_ s: AdamStep, parameters: BufferSlice, gradients: BufferSlice,
                           firstMoment: BufferSlice, secondMoment: BufferSlice,
                           maxSecondMoment: BufferSlice) throws {
        let n = parameters.count
        s.checkOperands(parameters: parameters, gradients: gradients, moments: [firstMoment, secondMoment],
                        maxSecondMoment: maxSecondMoment)
        try launchLinear("optim", "adam_update", count: n, [
            .int(n), .slice(parameters), .slice(gradients), .slice(firstMoment), .slice(secondMoment),
            .slice(s.amsgrad ? maxSecondMoment : secondMoment),
            .float(s.learningRate), .float(s.beta1), .float(s.beta2), .float(s.epsilon),
            .float(s.weightDecay), .flag(s.decoupledWeightDecay), .flag(s.amsgrad),
            .float(s.biasCorrection1), .float(s.biasCorrection2Sqrt),
        ])
    }

    public func rmspropUpdate(_ s: RMSPropStep, parameters: BufferSlice, gradients: BufferSlice,
                              squareAverage: BufferSlice, momentum: BufferSlice) throws {
        let n = parameters.count
        s.checkOperands(parameters: parameters, gradients: gradients, squareAverage: squareAverage,
                        momentum: momentum)
        try launchLinear("optim", "rmsprop_update", count: n, [
            .int(n), .slice(parameters), .slice(gradients), .slice(squareAverage),
            .slice(s.momentum == 0 ? squareAverage : momentum),
            .float(s.learningRate), .float(s.alpha), .float(s.epsilon), .float(s.weightDecay),
            .float(s.momentum),
        ])
    }
}
