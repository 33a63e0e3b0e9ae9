#!/usr/bin/env bash
# Every GPU check in one script, for a session lent a GPU machine (the device tool). Here:
#   ../shared/tools/gpu-bundle bench train
# then run with carry [".gpu"] and a timeout that leaves room for a rerun:
#   bash Benchmarks/gpu-check.sh
# Each step writes JSON lines under $OUT (or ./gpu-results) and goes on when one fails.
set -u
out=${OUT:-gpu-results}
mkdir -p "$out"
step() {
  local name=$1; shift
  echo "== $name: $*" >&2
  timeout 240 "$@" >"$out/$name.jsonl" 2>"$out/$name.err"; echo "   exit $?" >&2
  tail -n 3 "$out/$name.err" >&2
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$out/nvidia-smi.txt" 2>&1
bash .gpu/run .gpu/root/usr/bin/clinfo -l >"$out/clinfo.txt" 2>&1
cat "$out/clinfo.txt" >&2
# Correctness first: every kernel family and matmul shape validated against the CPU.
step kernels bash .gpu/run .gpu/bench kernels --device gpu,cpu --json
step matmul bash .gpu/run .gpu/bench matmul --device gpu,cpu --repeats 20 --json
step sweep bash .gpu/run .gpu/bench matmul --device gpu --sweep --repeats 10 --json
step step bash .gpu/run .gpu/bench step --device gpu,cpu --json
step train-gpu bash .gpu/run .gpu/train sgd --device gpu --json
step cublas python3 Benchmarks/cublas_reference.py --repeats 20
grep -h '"validated":false' "$out"/*.jsonl >&2 && echo "SOME RESULTS FAILED VALIDATION" >&2
exit 0
