/**
 * Loading the addon: a missing or broken addon is a one-line reason, never an exception (the
 * backend selection falls back on it); the default path's result is the one the kernels use.
 * Runs whether or not the addon is built.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BLAS_ADDON_PATH, loadBlasAddon } from './addon.ts';

describe('loadBlasAddon', () => {
  it('says that an addon that does not exist is not built, and where it was looked for', () => {
    const r = loadBlasAddon('/nonexistent/moepp_blas.node');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe('the OpenBLAS addon is not built (/nonexistent/moepp_blas.node does not exist)');
      expect(r.reason).not.toContain('\n');
    }
  });

  it('says that an addon that does not load failed to load, with the loader\'s first line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'moepp-blas-'));
    try {
      const path = join(dir, 'broken.node');
      writeFileSync(path, 'not a shared object');
      const r = loadBlasAddon(path);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.reason).toMatch(/^loading the OpenBLAS addon failed \(.+\)$/);
        expect(r.reason).not.toContain('\n');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads the install script\'s addon when it was built, with the functions the kernels call', () => {
    const r = loadBlasAddon(DEFAULT_BLAS_ADDON_PATH);
    if (!r.ok) {
      expect(r.reason).toMatch(/^the OpenBLAS addon is not built \(/);
      return;
    }
    for (const f of ['sgemmBatch', 'softmaxCrossEntropy', 'softmaxCrossEntropyGrad', 'sumOfSquares', 'adamwUpdate', 'rmsNorm', 'rmsNormGrad', 'swiGlu', 'swiGluGrad', 'causalAttention', 'causalAttentionGrad', 'scatterAddWeighted', 'gatherWeighted', 'scatterAddWithDot', 'setNumThreads', 'getNumThreads', 'info'] as const) expect(typeof r.addon[f]).toBe('function');
    expect(loadBlasAddon(DEFAULT_BLAS_ADDON_PATH)).toBe(r); // cached: one library per process
  });
});
