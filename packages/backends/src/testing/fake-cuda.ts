/**
 * Builds the stand-in CUDA runtime and cuBLAS (fake-cuda/fake_cuda.c) into a temporary folder,
 * for the `cuda` route's tests on a machine without a GPU: `cudaOpen([dir])` then loads them as it
 * would load NVIDIA's. Needs a C compiler (`cc`), as the addon itself does.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const source = join(dirname(fileURLToPath(import.meta.url)), 'fake-cuda', 'fake_cuda.c');

export type FakeCudaBuild = { ok: true; dir: string } | { ok: false; reason: string };

let built: FakeCudaBuild | undefined;

/** The folder holding libcudart.so.13 and libcublas.so.13 built from the stand-in (once per process). */
export function buildFakeCuda(): FakeCudaBuild {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), 'moepp-fake-cuda-'));
  const cc = process.env.CC || 'cc';
  const steps = [
    [cc, '-shared', '-fPIC', '-O1', '-DFAKE_CUDART', '-o', join(dir, 'libcudart.so.13'), source],
    [cc, '-shared', '-fPIC', '-O1', '-DFAKE_CUBLAS', '-o', join(dir, 'libcublas.so.13'), source, join(dir, 'libcudart.so.13'), '-Wl,-rpath,$ORIGIN'],
  ];
  for (const [command, ...args] of steps) {
    const r = spawnSync(command, args, { encoding: 'utf8' });
    if (r.status !== 0) {
      built = { ok: false, reason: `building the stand-in CUDA libraries failed: ${(r.stderr || r.error?.message || '').split('\n')[0]}` };
      return built;
    }
  }
  built = { ok: true, dir };
  return built;
}
