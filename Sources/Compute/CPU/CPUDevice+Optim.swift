extension CPUDevice {
    public func sgdUpdate(_ s: SGDStep, parameters: BufferSlice, gradients: BufferSlice,
                          momentum: BufferSlice) throws {
        let n = parameters.count
        precondition(gradients.count == n && (s.momentum == 0 || momentum.count == n),
                     "optimizer buffers differ in size")
        let p = parameters.host, g = gradients.host
        if s.momentum == 0 {
            for i in 0..<n { p[i] -= s.learningRate * (g[i] + s.weightDecay * p[i]) }
            return
        }
        let buf = momentum.host
        for i in 0..<n {
            let d = g[i] + s.weightDecay * p[i]
            let b = s.isFirstStep ? d : s.momentum * buf[i] + (1 - s.dampening) * d
            buf[i] = b
            p[i] -= s.learningRate * (s.nesterov ? d + s.momentum * b : b)
        }
    }

    public func adamUpdate(_ s: AdamStep, parameters: BufferSlice, gradients: BufferSlice,
                           firstMoment: BufferSlice, secondMoment: BufferSlice,
                           maxSecondMoment: BufferSlice) throws {
        let n = parameters.count
        precondition(gradients.count == n && firstMoment.count == n && secondMoment.count == n
                     && (!s.amsgrad || maxSecondMoment.count == n), "optimizer buffers differ in size")
        let p = parameters.host, g = gradients.host, m = firstMoment.host, v = secondMoment.host
        let vmax = maxSecondMoment.host
        let stepSize = s.learningRate / s.biasCorrection1
        let bc2 = s.biasCorrection2Sqrt
        for i in 0..<n {
            var w = p[i], d = g[i]
            if s.weightDecay != 0 {
                if s.decoupledWeightDecay { w *= 1 - s.learningRate * s.weightDecay }
                else { d += s.weightDecay * w }
            }
            let mi = s.beta1 * m[i] + (1 - s.beta1) * d
            let vi = s.beta2 * v[i] + (1 - s.beta2) * d * d
            m[i] = mi
            v[i] = vi
            var vhat = vi
            if s.amsgrad {
                vhat = max(vmax[i], vi)
                vmax[i] = vhat
            }
            p[i] = w - stepSize * mi / (vhat.squareRoot() / bc2 + s.epsilon)
        }
    }

    public func rmspropUpdate(_ s: RMSPropStep, parameters: BufferSlice, gradients: BufferSlice,
                              squareAverage: BufferSlice, momentum: BufferSlice) throws {
        let n = parameters.count
        precondition(gradients.count == n && squareAverage.count == n
                     && (s.momentum == 0 || momentum.count == n), "optimizer buffers differ in size")
        let p = parameters.host, g = gradients.host, sq = squareAverage.host
        for i in 0..<n {
            let d = g[i] + s.weightDecay * p[i]
            let avg = s.alpha * sq[i] + (1 - s.alpha) * d * d
            sq[i] = avg
            var step = d / (avg.squareRoot() + s.epsilon)
            if s.momentum > 0 {
                step += s.momentum * momentum.host[i]
                momentum.host[i] = step
            }
            p[i] -= s.learningRate * step
        }
    }
}
