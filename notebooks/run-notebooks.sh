#!/usr/bin/env bash
# Type-checks and executes notebooks headlessly on the committed Deno kernelspec
# (notebooks/kernels/deno), so they cannot rot. CI runs it on the fixture results.
#
#   notebooks/run-notebooks.sh                 # every notebooks/*.ipynb, on the fixture results
#   notebooks/run-notebooks.sh notebooks/01-results-explorer.ipynb
#   MOEPP_RESULTS=results MOEPP_STUDY=zc-ablation notebooks/run-notebooks.sh   # on real results
#
# Per notebook: (1) its code cells, concatenated in order, are type-checked with `deno check`
# (the kernel itself does not type-check); (2) `jupyter nbconvert --execute` runs it on the
# Deno kernel and fails on the first cell that throws. Executed copies (with outputs) go to
# $MOEPP_NOTEBOOK_OUT (default .cache/notebooks/); the committed notebooks stay output-free.
# A notebook whose metadata has `"moepp": {"ci": "skip: <reason>"}` is reported and skipped.
#
# Needs: jupyter-nbconvert and the Python Jupyter client (Debian:
#   apt-get install -y --no-install-recommends jupyter-nbconvert python3-jupyter-client
# ) and `pnpm install` (the deno binary comes from @moepp/reports' devDependencies).
# Exit codes: 0 all passed, 1 a notebook failed, 3 a required tool is missing.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
nbdir="$root/notebooks"

deno="${MOEPP_DENO:-}"
if [ -z "$deno" ]; then
  for candidate in "$root/packages/reports/node_modules/deno/deno" "$root/packages/reports/node_modules/.bin/deno"; do
    if [ -x "$candidate" ]; then deno="$candidate"; break; fi
  done
fi
if [ -z "$deno" ]; then
  echo "run-notebooks: no deno binary (run 'pnpm install' at the repo root, or set MOEPP_DENO)" >&2
  exit 3
fi
if ! command -v jupyter-nbconvert >/dev/null 2>&1; then
  echo "run-notebooks: jupyter-nbconvert not found. Debian: apt-get install -y --no-install-recommends jupyter-nbconvert python3-jupyter-client" >&2
  exit 3
fi

export MOEPP_DENO="$deno"
export JUPYTER_PATH="$nbdir${JUPYTER_PATH:+:$JUPYTER_PATH}"   # kernels/deno/kernel.json
export MOEPP_RESULTS="${MOEPP_RESULTS:-$root/packages/reports/test-fixtures/results}"
export MOEPP_STUDY="${MOEPP_STUDY:-tiny-ablation}"
export NO_COLOR=1
out="${MOEPP_NOTEBOOK_OUT:-$root/.cache/notebooks}"
mkdir -p "$out"

# Deno 2.9 "helpfully" rewrites package.json when a command exits on a module-resolution error
# and a pnpm-workspace.yaml is found above its cwd (it migrates the pnpm workspace into
# package.json). A typo in a notebook import must not edit the repo, so `deno check` runs from a
# scratch cwd outside the repo (a package.json and a node_modules link, which is all Deno needs
# to resolve npm packages and @types/node), and as a second line of defence everything Deno
# could touch is snapshotted and restored afterwards.
guard_dir="$(mktemp -d)"
cp "$root/package.json" "$guard_dir/package.json"
check_cwd="$guard_dir/check-cwd"
mkdir -p "$check_cwd"
echo '{ "private": true, "type": "module" }' >"$check_cwd/package.json"
ln -s "$root/node_modules" "$check_cwd/node_modules"
new_files=()
for f in "$root/deno.json" "$root/deno.jsonc" "$root/deno.lock" "$nbdir/deno.lock"; do
  [ -e "$f" ] || new_files+=("$f")
done
check_guard() {
  local bad=0
  if ! cmp -s "$root/package.json" "$guard_dir/package.json"; then
    cp "$guard_dir/package.json" "$root/package.json"
    echo "run-notebooks: deno modified package.json (pnpm-workspace auto-migration after a resolution error); restored it." >&2
    bad=1
  fi
  for f in ${new_files[@]+"${new_files[@]}"}; do
    if [ -e "$f" ]; then rm -f "$f"; echo "run-notebooks: removed $f that deno created." >&2; fi
  done
  return $bad
}
cleanup() {
  check_guard >/dev/null 2>&1 || true
  rm -f "$nbdir"/.*.check.ts
  rm -rf "$guard_dir"
}
trap cleanup EXIT

if [ $# -gt 0 ]; then notebooks=("$@"); else notebooks=("$nbdir"/*.ipynb); fi
failed=0
for nb in "${notebooks[@]}"; do
  nb="$(cd "$(dirname "$nb")" && pwd)/$(basename "$nb")"
  stem="$(basename "$nb" .ipynb)"
  skip="$(node -e 'const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).metadata; process.stdout.write(String(m.moepp?.ci ?? ""))' "$nb")"
  if [[ "$skip" == skip:* ]]; then
    echo "SKIP $stem — ${skip#skip: }"
    continue
  fi

  # (1) Type-check: code cells in order, as one module beside the notebook (so its relative
  # imports resolve as in the kernel), checked with Deno's own TypeScript and Deno.* types.
  check="$nbdir/.$stem.check.ts"
  node -e '
    const nb = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const src = (c) => (Array.isArray(c.source) ? c.source.join("") : c.source);
    const code = nb.cells.filter((c) => c.cell_type === "code").map((c, i) => `// --- cell ${i + 1}\n${src(c)}\n`).join("\n");
    require("fs").writeFileSync(process.argv[2], code);' "$nb" "$check"
  echo "CHECK $stem"
  if ! (cd "$check_cwd" && "$deno" check --quiet "$check"); then
    echo "FAIL $stem: type errors (line numbers refer to $check, cells concatenated)" >&2
    failed=1
    check_guard || true
    continue
  fi
  rm -f "$check"
  check_guard || { failed=1; continue; }

  # (2) Execute on the committed Deno kernel.
  echo "RUN   $stem (results: $MOEPP_RESULTS, study: $MOEPP_STUDY)"
  if ! jupyter-nbconvert --to notebook --execute \
      --ExecutePreprocessor.kernel_name=deno \
      --ExecutePreprocessor.timeout="${MOEPP_NOTEBOOK_TIMEOUT:-600}" \
      --ExecutePreprocessor.iopub_timeout=120 --ExecutePreprocessor.raise_on_iopub_timeout=True \
      --output-dir "$out" --output "$stem" "$nb" >"$out/$stem.log" 2>&1; then
    echo "FAIL $stem: a cell failed; log: $out/$stem.log" >&2
    tail -n 40 "$out/$stem.log" >&2
    failed=1
  else
    echo "OK    $stem -> $out/$stem.ipynb"
  fi
  check_guard || failed=1
done
exit $failed
