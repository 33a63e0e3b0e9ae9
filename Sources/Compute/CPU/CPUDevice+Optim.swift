extension CPUDevice {
    public func sgdUpdate(_ s: SGDStep, parameters: BufferSlice, gradients: BufferSlice,
                          momentum: BufferSlice) throws {
        let n = parameters.count
        s.checkOperands(parameters: parameters, gradients: gradients, momentum: momentum)
        let p = parameters.host, g = gradients.host
        let lr = s.learningRate, wd = s.weightDecay, mu = s.momentum, keep = 1 - s.dampening
        // The loop-invariant choices are made outside the loops so each loop vectorises.
        if mu == 0 {
            parallelChunks(n) { r in for i in r { p[i] -= lr * (g[i] + wd * p[i]) } }
            return
        }
        let buf = momentum.host
        switch (s.isFirstStep, s.nesterov) {
        case (true, false):
            parallelChunks(n) { r in
                for i in r {
                    let d = g[i] + wd * p[i]
                    buf[i] = d
                    p[i] -= lr * d
                }
            }
        case (true, true):
            parallelChunks(n) { r in
                for i in r {
                    let d = g[i] + wd * p[i]
                    buf[i] = d
                    p[i] -= lr * (d + mu * d)
                }
            }
        case (false, false):
            parallelChunks(n) { r in
                for i in r {
                    let b = mu * buf[i] + keep * (g[i] + wd * p[i])
                    buf[i] = b
                    p[i] -= lr * b
                }
            }
        case (false, true):
            parallelChunks(n) { r in
                for i in r {
                    let d = g[i] + wd * p[i]
                    let b = mu * buf[i] + keep * d
                    buf[i] = b
                    p[i] -= lr * (d + mu * b)
                }
            }
        }
    }

    public func adamUpdate(_ s: AdamStep, parameters: BufferSlice, gradients: BufferSlice,
                           firstMoment: BufferSlice, secondMoment: BufferSlice,
                           maxSecondMoment: BufferSlice) throws {
        let n = parameters.count
        s.checkOperands(parameters: parameters, gradients: gradients, moments: [firstMoment, secondMoment],
                        maxSecondMoment: maxSecondMoment)
        let p = parameters.host, g = gradients.host, m = firstMoment.host, v = secondMoment.host
        let vmax = maxSecondMoment.host
        let stepSize = s.learningRate / s.biasCorrection1
        let bc2 = s.biasCorrection2Sqrt
        let decay: Float = s.decoupledWeightDecay ? 1 - s.learningRate * s.weightDecay : 1
        let l2: Float = s.decoupledWeightDecay ? 0 : s.weightDecay
        let b1 = s.beta1, b2 = s.beta2, eps = s.epsilon, amsgrad = s.amsgrad
        parallelChunks(n) { r in
            // Two loops rather than a branch per element, so each vectorises.
            if amsgrad {
                for i in r {
                    let d = g[i] + l2 * p[i]
                    let mi = b1 * m[i] + (1 - b1) * d
                    let vi = b2 * v[i] + (1 - b2) * d * d
                    let vhat = max(vmax[i], vi)
                    m[i] = mi
                    v[i] = vi
                    vmax[i] = vhat
                    p[i] = p[i] * decay - stepSize * mi / (vhat.squareRoot() / bc2 + eps)
                }
            } else {
                for i in r {
                    let d = g[i] + l2 * p[i]
                    let mi = b1 * m[i] + (1 - b1) * d
                    let vi = b2 * v[i] + (1 - b2) * d * d
                    m[i] = mi
                    v[i] = vi
                    p[i] = p[i] * decay - stepSize * mi / (vi.squareRoot() / bc2 + eps)
                }
            }
        }
    }

    public func rmspropUpdate(_ s: RMSPropStep, parameters: BufferSlice, gradients: BufferSlice,
                              squareAverage: BufferSlice, momentum: BufferSlice) throws {
        let n = parameters.count
        s.checkOperands(parameters: parameters, gradients: gradients, squareAverage: squareAverage,
                        momentum: momentum)
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
