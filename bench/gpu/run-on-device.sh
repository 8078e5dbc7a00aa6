#!/usr/bin/env bash
# The GPU machine's whole check in one go (at most about 9 minutes; each step has its own limit
# and none starts after DEADLINE seconds): machine facts, the backend self-checks (`cuda`, cuBLAS
# products over the `blas` configuration; `webgpu`, tfjs on Dawn; `blas` on that machine's cores;
# `auto`), the core suite's reference tests on cpu and cuda (bundled for `node --test`), the cuda
# route's cost per product against OpenBLAS, paper Table 3's layer benchmark,
# a small-preset training step on the GPU backend and on `blas`, a few training steps of a
# paper-width LM and the smoke study's wall time. Results go under $OUT (the device tool brings
# back at most 8 files, so the run folders come back as one archive).
#
# Prepare here first (bash bench/gpu/prepare-carry.sh), then, through the device tool:
#   run(command: "bash bench/gpu/run-on-device.sh", carry: [".gpu"], timeout_s: 600)
#
# The GPU backend is the first of cuda, webgpu that passes its self-check. On a machine without
# nvidia-smi every step runs at smoke sizes on whichever backend passed (wasm when none did), so a
# dry run on a CPU machine checks every command; MOEPP_CUDA_LIBS pointing at the stand-in CUDA
# libraries of the tests (packages/backends/src/testing/fake-cuda.ts) takes the cuda branch there.
# Then no figure in the output is a GPU figure: summary.txt says which backend ran and where.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
OUT=${OUT:-$repo/.gpu/out}
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
work=$(mktemp -d)
results="$work/results"
mkdir -p "$results"
started=$(date +%s)
DEADLINE=${DEADLINE:-540}

section() { printf '\n== %s (%ss) ==\n' "$1" "$(($(date +%s) - started))"; }
# Runs a step under a time limit; a failed step is reported and the script goes on.
step() {
  local limit=$1 name=$2
  shift 2
  local t0=$(date +%s)
  local left=$((DEADLINE - (t0 - started)))
  if [ "$left" -lt 15 ]; then
    echo "$name: skipped, $((t0 - started)) s of the ${DEADLINE} s used" | tee -a "$OUT/summary.txt"
    return 124
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  # SIGTERM first (a study stops at the next step boundary, keeping what it wrote), SIGKILL 15 s on.
  timeout -k 15 "$limit" "$@"
  local rc=$?
  echo "$name: exit $rc in $(($(date +%s) - t0)) s" | tee -a "$OUT/summary.txt"
  return $rc
}

section "machine facts"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "kernel: $(uname -srm)"
  echo "cpus: $(nproc)"
  grep -m1 'model name' /proc/cpuinfo || true
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
  else
    echo "nvidia-smi: not found"
  fi
  command -v nvcc >/dev/null && nvcc --version | tail -2 || echo "nvcc: not found"
  echo "ld.so cache (cuda, cublas, vulkan, openblas, EGL/GLX):"
  ldconfig -p | grep -E 'libcuda|cublas|cudart|vulkan|openblas|libEGL|libGLX' || echo "  none"
  echo "Vulkan ICDs:"
  ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>/dev/null || echo "  none found"
  command -v vulkaninfo >/dev/null && timeout 20 vulkaninfo --summary || echo "vulkaninfo: not installed"
  echo "python3 cuBLAS wheel: $(python3 -c 'import nvidia.cublas, os; print(os.path.dirname(nvidia.cublas.__file__))' 2>/dev/null || echo none)"
} 2>&1 | tee "$OUT/machine.txt"

section "carried files"
# The Vulkan loader and GL dispatch libraries (the device notes: unpack to /, then ldconfig) —
# only on the GPU machine, which starts bare for every lease: never into another machine's /.
gpu_machine=false
command -v nvidia-smi >/dev/null && [ -d /usr/local/nvidia ] && gpu_machine=true
if $gpu_machine && ls .gpu/gl/*.deb >/dev/null 2>&1 && ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in .gpu/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  echo "unpacked: $(ls .gpu/gl | tr '\n' ' ')"
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  export VK_DRIVER_FILES=$icd
  echo "VK_DRIVER_FILES=$icd"
fi
node=$(command -v node || true)
if [ -z "$node" ] && [ -f .gpu/node.xz ]; then
  xz -dc .gpu/node.xz > "$work/node" && chmod +x "$work/node" && node="$work/node"
fi
[ -n "$node" ] || { echo "no node on this machine and none carried (.gpu/node.xz): run bench/gpu/prepare-carry.sh"; exit 1; }
echo "node: $node $("$node" -v)"
# The OpenBLAS addon's libraries, carried: `blas` and `cuda` need libopenblas.so.0 at load.
if [ -f .gpu/openblas.tar.xz ]; then
  mkdir -p "$work/lib" && tar -C "$work/lib" -xJf .gpu/openblas.tar.xz
  export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH ($(ls "$work/lib" | tr '\n' ' '))"
fi
# The CUDA runtime and cuBLAS of NVIDIA's Python wheels (beside PyTorch), for the cuda route.
if [ -z "${MOEPP_CUDA_LIBS:-}" ] && command -v python3 >/dev/null; then
  MOEPP_CUDA_LIBS=$(python3 - <<'PY' 2>/dev/null
import os
try:
    import nvidia
except ImportError:
    raise SystemExit
dirs = []
for base in nvidia.__path__:
    for d, _, files in os.walk(base):
        if any(f.startswith(("libcublas.so", "libcudart.so")) for f in files):
            dirs.append(d)
print(":".join(sorted(set(dirs))))
PY
  )
  export MOEPP_CUDA_LIBS
fi
echo "MOEPP_CUDA_LIBS=${MOEPP_CUDA_LIBS:-}"
threads=$(nproc)
dist="$work/dist"
mkdir -p "$dist"
if [ -f .gpu/moepp-dist.tar.xz ]; then
  tar -C "$dist" -xJf .gpu/moepp-dist.tar.xz
elif [ -f dist/moepp-bundle.json ]; then
  cp -r dist/. "$dist"
else
  echo "no bundle: run bench/gpu/prepare-carry.sh (or pnpm gpu:bundle)"
  exit 1
fi
echo "bundle: $(tr -d '\n ' < "$dist/moepp-bundle.json" | head -c 300)"
cd "$dist"

section "backend self-checks"
backend=wasm
if step 60 "backend-check cuda" "$node" backend-check.mjs --backend cuda --threads "$threads" --json "$results/self-check-cuda.json"; then
  backend=cuda
fi
if step 60 "backend-check webgpu" "$node" backend-check.mjs --backend webgpu --json "$results/self-check-webgpu.json" && [ "$backend" = wasm ]; then
  backend=webgpu
fi
blas_ok=false
step 45 "backend-check blas" "$node" backend-check.mjs --backend blas --threads "$threads" --json "$results/self-check-blas.json" && blas_ok=true
step 45 "backend-check auto" "$node" backend-check.mjs --threads "$threads" --json "$results/self-check-auto.json"
full=false
$gpu_machine && [ "$backend" != wasm ] && full=true
echo "backend for the steps: $backend ($([ "$full" = true ] && echo 'GPU machine, full sizes' || echo 'smoke sizes: no GPU figures'))" | tee -a "$OUT/summary.txt"

if $full; then
  sweep=()
  table3=(--widths paper --experts 8,16,32 --tau 0.1,0.25,0.5,0.75,1 --tokens 2048 --reps 10 --min-reps 3 --warmup 2 --max-group-seconds 20)
  train_step=(--tokens 2048 --reps 5 --min-reps 3 --warmup 1)
  lm_base=small
  lm_width=(--set model.dModel=768 --set model.moe.ffnHidden=2048)
  lm_steps=3
else
  sweep=(--max-mflop 30 --reps 1)
  table3=(--widths small --experts 8 --tau 0.75 --tokens 512 --reps 2 --min-reps 1 --warmup 1)
  train_step=(--tokens 512 --reps 1 --min-reps 1 --warmup 1)
  lm_base=smoke
  lm_width=()
  lm_steps=2
fi

if [ "$backend" = cuda ]; then
  # The core suite's reference tests (float64 references, finite differences, …) with every case on
  # cpu and on cuda, every product on cuBLAS: the GPU's agreement with the CPU (BENCHMARKS.md "GPU").
  section "core reference tests on cpu and cuda"
  mapfile -t core_tests < <(find core-tests -name '*.test.mjs' | sort)
  MOEPP_BACKEND=cuda MOEPP_TEST_BACKENDS=cpu,cuda step 90 "core tests (cpu, cuda)" \
    "$node" --test --test-concurrency=8 "${core_tests[@]}" > "$results/core-tests.tap"
  grep -E '^# (tests|pass|fail|cancelled|skipped) ' "$results/core-tests.tap" | tee -a "$OUT/summary.txt"
  grep -E '^ *not ok ' "$results/core-tests.tap" | head -40 | tee -a "$OUT/summary.txt"

  section "cuda route: each product's copies and GEMM against OpenBLAS ($threads threads)"
  step 75 "cuda-gemm" "$node" cuda-gemm.mjs --threads "$threads" "${sweep[@]}" --json "$results/cuda-gemm.json"
fi

section "paper Table 3: expert forward, MoE against MoE++"
step 120 "bench table3 ($backend)" "$node" bench.mjs --measures a "${table3[@]}" --no-profile --backend "$backend" --threads "$threads" --out "$results/bench-table3"

section "training step of the small preset"
step 75 "bench train_step ($backend)" "$node" bench.mjs --measures d "${train_step[@]}" --no-profile --backend "$backend" --threads "$threads" --out "$results/bench-train-step"
if $blas_ok && [ "$backend" != blas ]; then
  step 60 "bench train_step (blas, $threads threads)" "$node" bench.mjs --measures d "${train_step[@]}" --no-profile --backend blas --threads "$threads" --out "$results/bench-train-step-blas"
fi

section "paper-width LM (D 768, I 2048): $lm_steps training steps"
step 75 "ablate paper-width LM ($backend)" "$node" ablate.mjs smoke --base "$lm_base" "${lm_width[@]}" \
  --set training.steps=$lm_steps --set training.evalEvery=$lm_steps --set training.evalWindows=4 --set training.finalEvalWindows=4 \
  --backend "$backend" --threads "$threads" --no-report --results "$results/ablate-paper-width"

section "smoke study, wall time"
step 45 "ablate smoke ($backend)" "$node" ablate.mjs smoke --base smoke --backend "$backend" --threads "$threads" --no-report --results "$results/ablate-smoke"

section "results"
# Without checkpoints: a paper-width LM's weights alone are far over the 16 MiB a file brought back may have.
tar -C "$work" --exclude=checkpoint -czf "$OUT/results.tar.gz" results
echo "total: $(($(date +%s) - started)) s" | tee -a "$OUT/summary.txt"
ls -la "$OUT"
cd "$repo"
rm -rf "$work"
