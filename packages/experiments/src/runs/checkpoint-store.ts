/**
 * A run's checkpoints on disk, with no moment at which a crash leaves no intact checkpoint.
 *
 * Three folders: `checkpoint/` (the current one), `checkpoint-next/` (being written) and
 * `checkpoint-prev/` (the one before, while it is swapped out). Each holds the checkpoint's files
 * and `manifest.json` — `{ step, files: { name: sha256 } }` — written last: a folder counts only
 * when its manifest is there and every file matches its checksum. A write is
 *
 *   settle · remove next · mkdir next · write each file · write manifest ·
 *   remove prev · rename checkpoint → prev · rename next → checkpoint · remove prev
 *
 * where "remove" deletes the manifest first (so a half-removed folder never passes as intact),
 * then the files, then the folder. `settle` (once per process, before its first write) finishes
 * whatever a crash interrupted: it moves the newest intact checkpoint — which may be in
 * `checkpoint-next/` or `checkpoint-prev/` — into `checkpoint/` with the same renames, and only
 * then removes the other two. A corrupt checkpoint is named in a message; a corrupt
 * `checkpoint/` is moved to `checkpoint-corrupt/`, and when no intact checkpoint is left the run
 * stops rather than silently start over.
 *
 * Every filesystem call goes through a `CheckpointOps` object: tests crash the sequence at each
 * call (checkpoint-store.test.ts, fault-injection.test.ts).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** The filesystem calls of the checkpoint protocol; each call is one crash boundary. */
export interface CheckpointOps {
  mkdir(path: string): void;
  /** Writes and flushes a whole file. */
  writeFile(path: string, content: Uint8Array): void;
  rename(from: string, to: string): void;
  unlink(path: string): void;
  rmdir(path: string): void;
}

export const fsCheckpointOps: CheckpointOps = {
  mkdir: (path) => mkdirSync(path),
  writeFile: (path, content) => {
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } catch (e) {
      // write(2) errors (ENOSPC) carry no path; the message to the user needs it.
      (e as NodeJS.ErrnoException).path ??= path;
      throw e;
    } finally {
      closeSync(fd);
    }
  },
  rename: (from, to) => renameSync(from, to),
  unlink: (path) => unlinkSync(path),
  rmdir: (path) => rmdirSync(path),
};

/**
 * Test hook for a real process death: with `MOEPP_KILL_AT_CHECKPOINT_OP=k` the process sends
 * itself SIGKILL just before its k-th checkpoint filesystem call (0-based), counted from its start.
 */
export function checkpointOpsFromEnvironment(env: NodeJS.ProcessEnv = process.env): CheckpointOps {
  const at = env.MOEPP_KILL_AT_CHECKPOINT_OP;
  if (at === undefined || at === '') return fsCheckpointOps;
  return interruptingOps(fsCheckpointOps, Number(at), () => process.kill(process.pid, 'SIGKILL'));
}

/** `ops` with `before` called ahead of every call, given the call's name, path and content. */
export function observedOps(ops: CheckpointOps, before: (call: keyof CheckpointOps, path: string, content?: Uint8Array) => void): CheckpointOps {
  return {
    mkdir: (path) => {
      before('mkdir', path);
      ops.mkdir(path);
    },
    writeFile: (path, content) => {
      before('writeFile', path, content);
      ops.writeFile(path, content);
    },
    rename: (from, to) => {
      before('rename', from);
      ops.rename(from, to);
    },
    unlink: (path) => {
      before('unlink', path);
      ops.unlink(path);
    },
    rmdir: (path) => {
      before('rmdir', path);
      ops.rmdir(path);
    },
  };
}

/** `ops` that call `interrupt` (which throws or kills) just before call number `at` (0-based). */
export function interruptingOps(ops: CheckpointOps, at: number, interrupt: () => void): CheckpointOps {
  let calls = 0;
  return observedOps(ops, () => {
    if (calls++ === at) interrupt();
  });
}

export const CHECKPOINT_DIR = 'checkpoint';
const NEXT_DIR = 'checkpoint-next';
const PREVIOUS_DIR = 'checkpoint-prev';
const CORRUPT_DIR = 'checkpoint-corrupt';
const MANIFEST = 'manifest.json';

const manifestSchema = z.object({ step: z.number().int().nonnegative(), files: z.record(z.string(), z.string()) });

/** A checkpoint that passed its checksums, with its files' bytes. */
export interface VerifiedCheckpoint {
  /** Folder name: checkpoint, checkpoint-next or checkpoint-prev. */
  name: string;
  step: number;
  files: Record<string, Buffer>;
}

type Inspection =
  | { status: 'missing' | 'incomplete' }
  | { status: 'corrupt'; problem: string }
  | { status: 'verified'; checkpoint: VerifiedCheckpoint };

/** The run has checkpoints, none of them intact: resuming would silently start over. */
export class CheckpointCorruptError extends Error {
  override name = 'CheckpointCorruptError';
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class CheckpointStore {
  private settled = false;

  constructor(
    readonly runDir: string,
    private readonly ops: CheckpointOps = fsCheckpointOps,
    private readonly log: (line: string) => void = () => {},
  ) {}

  private path(name: string): string {
    return join(this.runDir, name);
  }

  private inspect(name: string): Inspection {
    const dir = this.path(name);
    if (!existsSync(dir)) return { status: 'missing' };
    let manifest: z.infer<typeof manifestSchema>;
    try {
      manifest = manifestSchema.parse(JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')));
    } catch {
      // No manifest, or one whose write was cut short: the folder was never finished.
      return { status: 'incomplete' };
    }
    const files: Record<string, Buffer> = {};
    for (const [file, checksum] of Object.entries(manifest.files)) {
      const where = `${name}/${file}`;
      if (!existsSync(join(dir, file))) return { status: 'corrupt', problem: `${where} is missing` };
      const bytes = readFileSync(join(dir, file));
      if (sha256(bytes) !== checksum) return { status: 'corrupt', problem: `${where} does not match its checksum in ${name}/${MANIFEST}` };
      files[file] = bytes;
    }
    return { status: 'verified', checkpoint: { name, step: manifest.step, files } };
  }

  /** The newest intact checkpoint without changing anything on disk (readers, messages). */
  newest(): VerifiedCheckpoint | null {
    const verified = [CHECKPOINT_DIR, NEXT_DIR, PREVIOUS_DIR]
      .map((name) => this.inspect(name))
      .flatMap((i) => (i.status === 'verified' ? [i.checkpoint] : []));
    return verified.reduce<VerifiedCheckpoint | null>((best, c) => (best === null || c.step > best.step ? c : best), null);
  }

  /**
   * Finishes what an interrupted write left, so that `checkpoint/` holds the newest intact
   * checkpoint, and returns it (null when the run has none yet). A corrupt one is moved aside
   * with a message naming its file; throws when checkpoints exist but none is intact.
   */
  settle(): VerifiedCheckpoint | null {
    const inspected = [CHECKPOINT_DIR, NEXT_DIR, PREVIOUS_DIR].map((name) => ({ name, inspection: this.inspect(name) }));
    const corruption = inspected.flatMap(({ inspection: i }) => (i.status === 'corrupt' ? [i.problem] : []));
    const best = inspected
      .flatMap(({ inspection: i }) => (i.status === 'verified' ? [i.checkpoint] : []))
      .reduce<VerifiedCheckpoint | null>((b, c) => (b === null || c.step > b.step ? c : b), null);
    if (best === null) {
      // Corrupt folders stay where they are, so that every later attempt stops here too.
      if (corruption.length) {
        throw new CheckpointCorruptError(`${corruption.join('; ')} (corrupt), and no intact checkpoint is left in ${this.runDir}; rerun with --force to train the run afresh (the folder is moved aside)`);
      }
      return null;
    }
    if (inspected[0].inspection.status === 'corrupt') {
      this.removeFolder(CORRUPT_DIR);
      this.ops.rename(this.path(CHECKPOINT_DIR), this.path(CORRUPT_DIR));
    }
    if (best.name === NEXT_DIR) {
      this.promoteNext();
    } else if (best.name === PREVIOUS_DIR) {
      this.removeFolder(CHECKPOINT_DIR);
      this.ops.rename(this.path(PREVIOUS_DIR), this.path(CHECKPOINT_DIR));
    }
    // checkpoint/ now holds the newest intact checkpoint: what else is left is older or unfinished.
    this.removeFolder(NEXT_DIR);
    this.removeFolder(PREVIOUS_DIR);
    this.settled = true;
    if (corruption.length) this.log(`${corruption.join('; ')} (corrupt): resuming from the intact checkpoint at step ${best.step}`);
    return { ...best, name: CHECKPOINT_DIR };
  }

  /** Writes a checkpoint of `step` and swaps it in (the sequence in the file comment). */
  write(step: number, files: Record<string, Uint8Array>): void {
    // Once per store: after it, this process's own writes keep checkpoint/ the newest intact one.
    if (!this.settled) this.settle();
    const next = this.path(NEXT_DIR);
    this.removeFolder(NEXT_DIR);
    this.ops.mkdir(next);
    const checksums: Record<string, string> = {};
    for (const [name, content] of Object.entries(files)) {
      this.ops.writeFile(join(next, name), content);
      checksums[name] = sha256(content);
    }
    this.ops.writeFile(join(next, MANIFEST), Buffer.from(`${JSON.stringify({ step, files: checksums }, null, 2)}\n`));
    this.promoteNext();
  }

  private promoteNext(): void {
    this.removeFolder(PREVIOUS_DIR);
    if (existsSync(this.path(CHECKPOINT_DIR))) this.ops.rename(this.path(CHECKPOINT_DIR), this.path(PREVIOUS_DIR));
    this.ops.rename(this.path(NEXT_DIR), this.path(CHECKPOINT_DIR));
    this.removeFolder(PREVIOUS_DIR);
  }

  /** Manifest first, then the other files, then the folder. */
  private removeFolder(name: string): void {
    const dir = this.path(name);
    if (!existsSync(dir)) return;
    const entries = readdirSync(dir).sort((a, b) => Number(b === MANIFEST) - Number(a === MANIFEST) || a.localeCompare(b));
    for (const entry of entries) this.ops.unlink(join(dir, entry));
    this.ops.rmdir(dir);
  }
}
