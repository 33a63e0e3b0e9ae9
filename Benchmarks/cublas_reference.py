#!/usr/bin/env python3
"""cuBLAS SGEMM through PyTorch on the shapes `bench matmul` uses, for the GPU table in
Benchmarks/README.md. FP32 with TF32 off, timed with CUDA events (median and min over repeats
after a warm-up), validated against a float64 product on the CPU. Prints the same fields as
`bench matmul --json`, one JSON object per line.

    python3 Benchmarks/cublas_reference.py [--shapes 256x512x784:nt,...] [--repeats 20]
"""
import argparse
import json

import torch

DEFAULT_SHAPES = ("256x512x784:nt,512x784x256:tn,256x784x512,256x256x512:nt,256x512x256:tn,"
                  "256x512x256,1024x1024x1024,2048x2048x2048")


def operand(rows, cols, transposed, device):
    """A rows×cols operand; stored as cols×rows and viewed transposed when `transposed`."""
    if transposed:
        return torch.rand(cols, rows, device=device, dtype=torch.float32).mul_(2).sub_(1).t()
    return torch.rand(rows, cols, device=device, dtype=torch.float32).mul_(2).sub_(1)


def measure(text, repeats):
    dims, _, flags = text.partition(":")
    m, n, k = (int(v) for v in dims.split("x"))
    flags = flags or "nn"
    a = operand(m, k, flags[0] == "t", "cuda")
    b = operand(k, n, flags[1] == "t", "cuda")
    c = torch.matmul(a, b)
    torch.cuda.synchronize()
    reference = torch.matmul(a.double().cpu(), b.double().cpu())
    tolerance = 4e-5 * max(k, 1) ** 0.5
    validated = bool(((c.double().cpu() - reference).abs() <= tolerance * reference.abs().clamp(min=1)).all())
    torch.matmul(a, b)  # warm-up
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        torch.matmul(a, b)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))  # milliseconds
    times.sort()
    median, best = times[len(times) // 2], times[0]
    flops = 2.0 * m * n * k
    return {"kernel": "matmul", "device": "gpu", "backend": "cublas",
            "device_name": torch.cuda.get_device_name(), "shape": text,
            "ms_median": median, "ms_min": best, "repeats": repeats,
            "gflops": flops / (median * 1e-3) / 1e9, "gflops_best": flops / (best * 1e-3) / 1e9,
            "validated": validated, "timing": "events"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=DEFAULT_SHAPES)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("cublas_reference.py: no CUDA device visible to PyTorch")
    # Plain FP32: TF32 would trade ten mantissa bits for speed and not be comparable.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    for text in args.shapes.split(","):
        print(json.dumps(measure(text, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
