/** What every part of one benchmark run shares: its options, backend, timing and the rows it collects. */
import type { LayerCsvRow } from '@moepp/run-format';
import type { BenchBackend } from './bench-backend.ts';
import type { BenchOptions } from './bench-options.ts';
import type { InterleaveOptions } from './interleave.ts';
import type { OpProfile } from './op-profile.ts';
import type { PeerCheck } from './torch-peer.ts';

export interface BenchContext {
  options: BenchOptions;
  backend: BenchBackend;
  /** Warm-up, repetitions and time cap of every interleaved group. */
  timing: Omit<InterleaveOptions, 'onRound'>;
  /** Rows of layer.csv, ours and the peer's. */
  rows: LayerCsvRow[];
  /** The peer's equivalence checks (peer-checks.csv). */
  checks: PeerCheck[];
  /** Lines for summary.md. */
  notes: string[];
  /** Per-op profiles (profile.csv). */
  profiles: { scope: string; profile: OpProfile }[];
  /** Whether the PyTorch peer runs. */
  peerOk: boolean;
  log: (line: string) => void;
  /** Rewrites layer.csv with the rows so far, so an interrupted run keeps what it measured. */
  flush: () => void;
}

/** A round counter on an interactive terminal; nothing in logs. */
export function progress(label: string): ((done: number, planned: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, planned) => process.stderr.write(`\r  ${label}: round ${done}/${planned}   `);
}

export function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\n');
}
