#!/usr/bin/env bash
# Every GPU check in one script, for a session lent a GPU machine (the device tool). Here:
#   ../shared/tools/gpu-bundle bench train attack
#   (cd .gpu/debs && apt-get download -q libclblast1)     # CLBlast is dlopen'd: carry it by hand
# then run with carry [".gpu"] and a timeout that leaves room for a rerun (the whole script is
# sized for about 6 minutes on an H100/H200):
#   bash Benchmarks/gpu-check.sh
# It lists the OpenCL and CUDA devices, compiles every kernel build for both runtimes, validates
# every kernel family on each GPU runtime against the CPU (the Philox fills bit for bit), times
# matmul on each beside CLBlast (OpenCL) and cuBLAS FP32 (CUDA, TF32 off), sweeps the matmul
# tiles on CUDA, times a training step and the zeroth-order kernels and step (bench zo), trains
# mlp:512,256 for 3 epochs on each runtime, trains logreg by ZO-SGD, times the sign kernels, runs
# the signSGD MNIST-5k reproduction on CUDA (one process; no MPI launcher on that machine), and
# attacks the trained mlp.
# Each step writes JSON lines under $OUT (or ./gpu-results) and goes on when one fails.
set -u
out=${OUT:-gpu-results}
mkdir -p "$out"
start=$(date +%s)
step() {
  local name=$1 limit=$2; shift 2
  echo "== $name ($(($(date +%s) - start)) s): $*" >&2
  timeout "$limit" "$@" >"$out/$name.jsonl" 2>"$out/$name.err"; echo "   exit $?" >&2
  tail -n 3 "$out/$name.err" >&2
}
export FATHOM_KERNEL_CACHE="$out/kernel-cache"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv >"$out/nvidia-smi.txt" 2>&1
cat "$out/nvidia-smi.txt" >&2
bash .gpu/run .gpu/root/usr/bin/clinfo -l >"$out/clinfo.txt" 2>&1
cat "$out/clinfo.txt" >&2
# Builds first: registers and spills per build on the device's own architecture.
arch=sm_$(head -2 "$out/nvidia-smi.txt" | tail -1 | awk -F', ' '{print $4}' | tr -d '.')
step compile-cuda 60 bash .gpu/run .gpu/bench compile --runtime cuda --arch "$arch" --json
step compile-opencl 60 bash .gpu/run .gpu/bench compile --runtime opencl --json
# Correctness: every family on each GPU runtime against the CPU reference.
step kernels 90 bash .gpu/run .gpu/bench kernels --device gpu,cuda,cpu --repeats 20 --json
step matmul 120 bash .gpu/run .gpu/bench matmul --device gpu,cuda --repeats 20 --json
step sweep 120 bash .gpu/run .gpu/bench matmul --device cuda --sweep --repeats 5 --json \
  --shapes 256x512x784:nt,512x784x256:tn,256x256x512:nt,16x64x50176:tn,2048x2048x2048
step step 60 bash .gpu/run .gpu/bench step --device gpu,cuda --repeats 20 --json
step train-gpu 60 bash .gpu/run .gpu/train sgd --device gpu --epochs 3 --json
step train-cuda 60 bash .gpu/run .gpu/train sgd --device cuda --epochs 3 --json --checkpoint "$out/mlp.ckpt"
step dp 120 bash .gpu/run .gpu/bench dp --device gpu,cuda --repeats 10 --json
step train-dp 60 bash .gpu/run .gpu/train dp-sgd --device cuda --target-epsilon 3 --epochs 5 --json
step zo 90 bash .gpu/run .gpu/bench zo --device gpu,cuda --repeats 20 --json
step train-zo 60 bash .gpu/run .gpu/train zo --device cuda --model logreg --epochs 20 --json
step sign 60 bash .gpu/run .gpu/bench sign --device gpu,cuda,cpu --repeats 20 --json
step train-signsgd 90 bash .gpu/run .gpu/train signsgd --device cuda --model mlp:128 --scale unit --workers 10 \
  --partition by-class:1 --batch-size full --optimizer sgd --lr 0.01 --weight-decay 0 --schedule constant \
  --epochs 1500 --noise adaptive --json
step attack 60 bash .gpu/run .gpu/attack --device cuda --checkpoint "$out/mlp.ckpt" --images 50 --iterations 1000 --json
echo "== done in $(($(date +%s) - start)) s" >&2
grep -h '"validated":false\|"compiled":false' "$out"/*.jsonl >&2 && echo "SOME RESULTS FAILED VALIDATION" >&2
exit 0
