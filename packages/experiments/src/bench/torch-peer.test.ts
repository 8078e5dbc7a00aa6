/**
 * The PyTorch peer computes the same layer: from the same weights, inputs and routing (one
 * .safetensors file), its outputs, dx and parameter gradients equal ours. Skipped, saying why,
 * when no Python with torch is installed (Debian: apt-get install python3-torch).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import seedrandom from 'seedrandom';
import { sampleBalancedTopK } from './balanced-routing.ts';
import { buildLayerPair, buildRoutingCase, type LayerPair } from './layer-fixture.ts';
import { layerResults, type LayerMeasure } from './layer-measures.ts';
import { peerPayload, runTorchPeer, torchAvailable, type PeerCase } from './torch-peer.ts';

const PYTHON = process.env.MOEPP_PYTHON ?? '/usr/bin/python3';
const torch = torchAvailable(PYTHON);
if (!torch.ok) console.warn(`skipping the PyTorch equivalence check: ${torch.detail}`);

describe.skipIf(!torch.ok)(`PyTorch peer (${torch.detail})`, () => {
  let pair: LayerPair;
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    pair = buildLayerPair('small', 8, 3);
  });
  afterAll(() => pair?.dispose());

  it('reproduces our outputs, dx and gradients from the same weights and routing', () => {
    const tokens = 48;
    const rng = seedrandom.alea('peer');
    const measures: LayerMeasure[] = ['expert_forward', 'layer_forward', 'layer_forward_backward'];
    const specs = [
      { key: 'moe', impl: 'moe' as const, tau: null, topK: sampleBalancedTopK(pair.moe.kinds, tokens, 2, 1, rng) },
      { key: 'moepp@0.25', impl: 'moepp' as const, tau: 0.25, topK: sampleBalancedTopK(pair.moepp.kinds, tokens, 2, 0.25, rng) },
    ];
    const cases: PeerCase[] = specs.map((s, i) => {
      const c = buildRoutingCase(pair[s.impl], pair.dModel, s.topK, tokens, 10 + i);
      const expected = Object.fromEntries(measures.map((m) => [m, layerResults(m, pair[s.impl], c, pair[s.impl].named)]));
      return { key: s.key, impl: s.impl, tau: s.tau, c, expected };
    });
    const result = runTorchPeer(PYTHON, peerPayload(pair, cases, measures, { warmup: 0, reps: 1, minReps: 1, maxSeconds: 1 }, 1, true), 1, 120);
    cases.forEach((c) => c.c.dispose());
    // Every quantity was compared: outputs of both forward measures, dx and every parameter gradient.
    const whats = new Set(result.checks.map((c) => `${c.key} ${c.measure} ${c.what.replace(/\.\d+\./, '.#.')}`));
    expect(whats).toContain('moepp@0.25 layer_forward_backward grad.experts.#.w_c');
    expect(whats).toContain('moepp@0.25 layer_forward_backward grad.router.w_g');
    expect(whats).toContain('moe layer_forward_backward dx');
    expect(whats).toContain('moe expert_forward output');
    for (const c of result.checks) {
      expect(c.max_abs_diff, `${c.key} ${c.measure} ${c.what}`).toBeLessThan(1e-5 * Math.max(1, c.max_abs));
    }
    expect(Object.keys(result.times)).toHaveLength(0);
  });
});
