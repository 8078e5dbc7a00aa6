#!/usr/bin/env bash
# The GPU machine's whole check in one go (about 8 minutes at most): machine facts, the backend
# self-check, paper Table 3's layer benchmark, a small-preset training step, a few training steps
# of a paper-width LM and the smoke study's wall time, all on `webgpu`. Results go under $OUT
# (the device tool brings back at most 8 files, so the run folders come back as one archive).
#
# Prepare here first (bash bench/gpu/prepare-carry.sh), then, through the device tool:
#   run(command: "bash bench/gpu/run-on-device.sh", carry: [".gpu"], timeout_s: 600)
#
# Where `webgpu` does not pass its self-check (no GPU, no Vulkan, or wrong numbers), the same
# steps run on `wasm` at smoke sizes instead, so a dry run on a CPU machine checks every command
# (then no figure in the output is a GPU figure: summary.txt says which backend ran).
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

section() { printf '\n== %s (%ss) ==\n' "$1" "$(($(date +%s) - started))"; }
# Runs a step under a time limit; a failed step is reported and the script goes on.
step() {
  local limit=$1 name=$2
  shift 2
  local t0=$(date +%s)
  timeout "$limit" "$@"
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

section "backend self-check"
if step 90 "backend-check webgpu" "$node" backend-check.mjs --backend webgpu --json "$OUT/self-check-webgpu.json"; then
  backend=webgpu
else
  backend=wasm
  echo "webgpu unavailable or wrong: the steps below run on wasm at smoke sizes (no GPU figures)" | tee -a "$OUT/summary.txt"
fi
step 90 "backend-check auto" "$node" backend-check.mjs --json "$OUT/self-check-auto.json"
echo "backend for the steps: $backend" | tee -a "$OUT/summary.txt"

if [ "$backend" = webgpu ]; then
  table3=(--widths paper --experts 8,16,32 --tau 0.1,0.25,0.5,0.75,1 --tokens 2048 --reps 10 --min-reps 3 --warmup 2 --max-group-seconds 30)
  train_step=(--tokens 2048 --reps 5 --min-reps 3 --warmup 1)
  lm_base=small
  lm_steps=3
else
  table3=(--widths small --experts 8 --tau 0.75 --tokens 512 --reps 2 --min-reps 1 --warmup 1)
  train_step=(--tokens 512 --reps 1 --min-reps 1 --warmup 1)
  lm_base=smoke
  lm_steps=2
fi

section "paper Table 3: expert forward, MoE against MoE++"
step 200 "bench table3 ($backend)" "$node" bench.mjs --measures a "${table3[@]}" --no-profile --backend "$backend" --out "$results/bench-table3"

section "training step of the small preset"
step 120 "bench train_step ($backend)" "$node" bench.mjs --measures d "${train_step[@]}" --no-profile --backend "$backend" --out "$results/bench-train-step"

section "paper-width LM (D 768, I 2048): $lm_steps training steps"
step 120 "ablate paper-width LM ($backend)" "$node" ablate.mjs smoke --base "$lm_base" --set model.dModel=768 --set model.moe.ffnHidden=2048 \
  --set training.steps=$lm_steps --set training.evalEvery=$lm_steps --set training.evalWindows=4 --set training.finalEvalWindows=4 \
  --backend "$backend" --no-report --results "$results/ablate-paper-width"

section "smoke study, wall time"
step 90 "ablate smoke ($backend)" "$node" ablate.mjs smoke --base smoke --backend "$backend" --no-report --results "$results/ablate-smoke"

section "results"
# Without checkpoints: a paper-width LM's weights alone are far over the 16 MiB a file brought back may have.
tar -C "$work" --exclude=checkpoint -czf "$OUT/results.tar.gz" results
echo "total: $(($(date +%s) - started)) s" | tee -a "$OUT/summary.txt"
ls -la "$OUT"
cd "$repo"
rm -rf "$work"
