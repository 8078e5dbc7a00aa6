/**
 * The checkpoint protocol crashed at every filesystem call of four checkpoint writes, and at every
 * pair of calls (a crash, then a crash at each call of the recovering process), each both as a
 * clean stop and as a torn write (half a file): the recovering process always finds the newest
 * checkpoint that was complete at the crash, and finishing the writes leaves exactly the files of
 * an uninterrupted sequence. Then corruption: a flipped bit is named and skipped.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointCorruptError, CheckpointStore, fsCheckpointOps, interruptingOps, observedOps, type CheckpointOps } from './checkpoint-store.ts';

const STEPS = [1, 2, 3, 4];

class Crash extends Error {}

/** The real calls without fsync, which only matters for power loss and costs seconds here. */
const diskOps: CheckpointOps = { ...fsCheckpointOps, writeFile: (path, content) => writeFileSync(path, content) };

/** The files of the checkpoint at `step`: distinct content, of a few sizes. */
function filesOf(step: number): Record<string, Uint8Array> {
  return {
    'model.safetensors': new Uint8Array(1000 + step).fill(step),
    'state.json': Buffer.from(JSON.stringify({ step })),
  };
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'moepp-ckpt-'));
}

/** Filesystem calls that crash before call `at`; a torn crash first writes half the file. */
function crashingOps(at: number, torn: boolean): CheckpointOps {
  let calls = 0;
  return observedOps(diskOps, (call, path, content) => {
    if (calls++ !== at) return;
    if (torn && call === 'writeFile' && content) writeFileSync(path, content.subarray(0, content.length >> 1));
    throw new Crash();
  });
}

/**
 * One process's work: settle, then write the checkpoints after the settled one. Returns the step
 * it resumed from and the last step it wrote completely before a crash (or the end).
 */
function runProcess(dir: string, ops: CheckpointOps): { resumedFrom: number | null; completed: number; crashed: boolean } {
  const store = new CheckpointStore(dir, ops);
  let resumedFrom: number | null = null;
  let completed = 0;
  try {
    resumedFrom = store.settle()?.step ?? 0;
    completed = resumedFrom;
    for (const step of STEPS.filter((s) => s > (resumedFrom ?? 0))) {
      store.write(step, filesOf(step));
      completed = step;
    }
  } catch (e) {
    if (!(e instanceof Crash)) throw e;
    return { resumedFrom, completed, crashed: true };
  }
  return { resumedFrom, completed, crashed: false };
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const folder of readdirSync(dir).sort()) {
    for (const file of readdirSync(join(dir, folder)).sort()) out[`${folder}/${file}`] = readFileSync(join(dir, folder, file)).toString('hex');
  }
  return out;
}

function countCalls(run: (ops: CheckpointOps) => void): number {
  let calls = 0;
  run(observedOps(diskOps, () => {
    calls++;
  }));
  return calls;
}

describe('checkpoint store under crashes', () => {
  const referenceDir = scratch();
  const total = countCalls((ops) => runProcess(referenceDir, ops));
  const reference = snapshot(referenceDir);

  it('an uninterrupted sequence leaves only checkpoint/ with the last step', () => {
    expect(Object.keys(reference)).toEqual(['checkpoint/manifest.json', 'checkpoint/model.safetensors', 'checkpoint/state.json']);
    expect(new CheckpointStore(referenceDir).newest()?.step).toBe(4);
    expect(total).toBeGreaterThan(30);
  });

  for (const torn of [false, true]) {
    it(`a crash at each of the calls, then one at each call of the recovery (${torn ? 'torn writes' : 'clean stops'})`, () => {
      let pairs = 0;
      for (let first = 0; first < total; first++) {
        const dir = scratch();
        const crashed = runProcess(dir, crashingOps(first, torn));
        expect(crashed.crashed).toBe(true);
        // The newest checkpoint complete at the crash survives it.
        const survivor = new CheckpointStore(dir).newest()?.step ?? 0;
        expect(survivor, `crash at call ${first}`).toBeGreaterThanOrEqual(crashed.completed);

        // Every crash point of the recovering process, each from a copy of the crashed folder.
        const recoveryCalls = countCalls((ops) => runProcess(copyOf(dir), ops));
        for (let second = 0; second < recoveryCalls; second++) {
          const copy = copyOf(dir);
          const again = runProcess(copy, crashingOps(second, torn));
          // Crashed inside the recovery itself (null), or recovered exactly what survived.
          expect([null, survivor], `crash at ${first}, then ${second}`).toContain(again.resumedFrom);
          expect(new CheckpointStore(copy).newest()?.step ?? 0).toBeGreaterThanOrEqual(Math.max(survivor, again.completed));
          const last = runProcess(copy, diskOps);
          expect(last.crashed).toBe(false);
          expect(snapshot(copy), `crash at ${first}, then ${second}`).toEqual(reference);
          pairs++;
        }
        const resumed = runProcess(dir, diskOps);
        expect(resumed.resumedFrom).toBe(survivor);
        expect(snapshot(dir), `crash at call ${first}`).toEqual(reference);
      }
      expect(pairs).toBeGreaterThan(total);
    });
  }

  it('a flipped bit is named, and the previous intact checkpoint is used', () => {
    const dir = scratch();
    runProcess(dir, diskOps);
    // Crash just before the new checkpoint is renamed in: checkpoint-prev (4) and checkpoint-next (5) are intact.
    const store = new CheckpointStore(dir, interruptingOps(diskOps, 5, () => {
      throw new Crash();
    }));
    expect(() => store.write(5, filesOf(5))).toThrow(Crash);
    expect(existsSync(join(dir, 'checkpoint-next', 'manifest.json'))).toBe(true);
    const model = join(dir, 'checkpoint-next', 'model.safetensors');
    const bytes = readFileSync(model);
    bytes[7] ^= 0x10;
    writeFileSync(model, bytes);
    const lines: string[] = [];
    const settled = new CheckpointStore(dir, diskOps, (l) => lines.push(l)).settle();
    expect(settled?.step).toBe(4);
    expect(lines.join('\n')).toMatch(/checkpoint-next\/model\.safetensors does not match its checksum.*resuming from the intact checkpoint at step 4/);
  });

  it('a run whose only checkpoint is corrupt stops with the file named instead of starting over', () => {
    const dir = scratch();
    runProcess(dir, diskOps);
    const state = join(dir, 'checkpoint', 'state.json');
    writeFileSync(state, '{"step": 5}');
    expect(() => new CheckpointStore(dir).settle()).toThrow(CheckpointCorruptError);
    // Still there for the next attempt: the run is never restarted from step 0 behind the user's back.
    expect(() => new CheckpointStore(dir).settle()).toThrow(/checkpoint\/state\.json does not match its checksum.*--force/);
  });
});

function copyOf(dir: string): string {
  const copy = scratch();
  for (const folder of readdirSync(dir)) {
    for (const file of readdirSync(join(dir, folder))) {
      if (!existsSync(join(copy, folder))) diskOps.mkdir(join(copy, folder));
      writeFileSync(join(copy, folder, file), readFileSync(join(dir, folder, file)));
    }
    if (!existsSync(join(copy, folder))) diskOps.mkdir(join(copy, folder));
  }
  return copy;
}
