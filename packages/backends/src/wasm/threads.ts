/**
 * Multi-threaded WebAssembly backend in Node.
 *
 * tfjs-backend-wasm 4.22 ships a threaded+SIMD build but turns it off under Node
 * (`WASM_HAS_MULTITHREAD_SUPPORT` is hard-coded to false when `IS_NODE`, tfjs issue #3830). Forcing
 * the flag on is not enough, for three reasons, each handled here only for the duration of
 * `tf.setBackend('wasm')`:
 *
 * 1. tfjs gives emscripten a `locateFile` that returns `URL.createObjectURL(blob)` for the pthread
 *    worker script, and Node's `worker_threads.Worker` rejects `blob:` URLs (ERR_WORKER_PATH).
 *    We answer that one `createObjectURL` call with the path of a `.cjs` file holding the same
 *    worker script (tfjs's own `wasmWorkerContents`), kept in a per-user temp directory.
 * 2. Each worker is then told to `importScripts()` the main emscripten script, which tfjs passes as
 *    another Blob (`mainScriptUrlOrBlob`) holding `factory.toString()`. Under Node that text is the
 *    rollup-transformed copy inside tfjs's bundle and refers to bundle locals (`require$$0`), so it
 *    cannot run in a worker even if it could be read. The worker file therefore swaps a non-string
 *    `urlOrBlob` for the package's untransformed `wasm-out/tfjs-backend-wasm-threaded-simd.js` —
 *    the file emscripten itself would load — whose wasm imports are identical (checked: same
 *    `asmLibraryArg` table).
 * 3. The C++ side caps the pool at `emscripten_num_logical_cores() / 2` (a hyper-threading
 *    heuristic), i.e. 1 thread on a 2-core machine, and that function reads `os.cpus().length`
 *    under Node. We report `2 × threads` logical cores while the module initialises, so the
 *    requested count is honoured exactly.
 *
 * After initialisation nothing global stays patched: later workers (emscripten grows its pool on
 * demand) are pointed at the same files through the module's own `locateFile` and
 * `mainScriptUrlOrBlob`, and workers are `unref()`ed so an idle thread pool does not keep the
 * process alive.
 *
 * Limits: pthread workers inherit the process's `execArgv`, and Node refuses `--input-type` in a
 * worker, so a process started with it stays single-threaded (said in `note`). A threaded start
 * that fails for another reason falls back to one thread, but workers it already started cannot
 * be reached from here to be terminated.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** emscripten pre-creates this many pthread workers and the C++ side never uses more threads. */
export const MAX_WASM_THREADS = 8;

export interface WasmInitOptions {
  /** Threads for XNNPACK's pool; default: the machine's logical cores. Clamped to 1..8. */
  threads?: number;
}

export interface WasmBackendInfo {
  /** Threads XNNPACK actually uses (tfjs's `getThreadsCount()`). */
  threads: number;
  /** Whether the SIMD build runs (the threaded build is SIMD-only). */
  simd: boolean;
  /** Why fewer threads than requested are used, when that happens. */
  note?: string;
}

/** Minimal view of the emscripten module object the wasm backend holds. */
interface EmscriptenPthreadWorker {
  ref?: () => void;
  unref?: () => void;
}
interface WasmModuleView {
  locateFile?: (path: string, prefix: string) => string;
  mainScriptUrlOrBlob?: unknown;
  PThread?: { unusedWorkers: EmscriptenPthreadWorker[]; runningWorkers: EmscriptenPthreadWorker[] };
}

interface ThreadedFiles {
  workerPath: string;
  mainScriptPath: string;
  /** Byte size of the worker Blob tfjs creates, to recognise it in `createObjectURL`. */
  workerBlobSize: number;
}

let threadedFiles: ThreadedFiles | undefined;

/** Whether this JS engine can run wasm threads at all (shared memory + atomics + workers). */
export function runtimeSupportsWasmThreads(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  try {
    require('node:worker_threads');
    // A module with a shared memory and an atomic load: what the threaded build needs.
    const wasm = (globalThis as unknown as { WebAssembly?: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
    return (
      wasm?.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0, 65, 0, 254, 16, 2, 0, 26, 11])) ?? false
    );
  } catch {
    return false;
  }
}

/** Writes (once per process) the worker script the threaded build's pthreads run. */
function prepareThreadedFiles(): ThreadedFiles {
  if (threadedFiles) return threadedFiles;
  // From package.json, not the main file: a bundle (`pnpm gpu:bundle`) carries wasm-out/ without it.
  const wasmOut = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const mainScriptPath = join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
  const workerModule = join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js');
  if (!existsSync(mainScriptPath) || !existsSync(workerModule)) {
    throw new Error(`tfjs-backend-wasm's threaded build is missing (${mainScriptPath})`);
  }
  const { wasmWorkerContents } = require(workerModule) as { wasmWorkerContents: string };
  // tfjs escapes newlines before making the Blob (its template literal turned "\n" inside JS
  // strings into real newlines); do the same, so the Blob's size identifies it below.
  const workerScript = wasmWorkerContents.replace(/\n/g, '\\n');
  const redirect = [
    ';(function () {',
    '  var onmessageFromTfjs = self.onmessage;',
    '  self.onmessage = function (e) {',
    '    if (e.data && e.data.cmd === "load" && typeof e.data.urlOrBlob !== "string") {',
    `      e.data.urlOrBlob = ${JSON.stringify(mainScriptPath)};`,
    '    }',
    '    return onmessageFromTfjs(e);',
    '  };',
    '})();',
  ].join('\n');
  const workerPath = writeWorkerScript(`${workerScript}\n${redirect}\n`);
  threadedFiles = { workerPath, mainScriptPath, workerBlobSize: Buffer.byteLength(workerScript) };
  return threadedFiles;
}

/**
 * Writes the worker script to a file that any later worker can load. Workers may be created at
 * any time (emscripten grows its pool on demand), so the file must outlive initialisation; it is
 * named by its content in a per-user directory and shared by every process, rather than written
 * per process and removed at exit (killed processes, vitest's forks among them, never clean up).
 */
function writeWorkerScript(script: string): string {
  const name = `tfjs-backend-wasm-threaded-simd.worker-${createHash('sha256').update(script).digest('hex').slice(0, 16)}.cjs`;
  try {
    const uid = process.getuid?.();
    const dir = join(tmpdir(), `moepp-wasm-threads${uid === undefined ? '' : `-${uid}`}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    // Code is loaded from here: only a directory that nobody else can write to will do.
    if ((uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) throw new Error(`${dir} is writable by others`);
    const path = join(dir, name);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== script) {
      const partial = `${path}.${process.pid}.tmp`;
      writeFileSync(partial, script);
      renameSync(partial, path); // atomic: a concurrent process never sees half a file
    }
    return path;
  } catch {
    const dir = mkdtempSync(join(tmpdir(), 'moepp-wasm-threads-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, name);
    writeFileSync(path, script);
    return path;
  }
}

/** Runs `init` with the three Node workarounds of the module comment in place, then removes them. */
async function withThreadedInitHooks<T>(files: ThreadedFiles, threads: number, init: () => Promise<T>): Promise<T> {
  const originalCreateObjectURL = URL.createObjectURL;
  const os = require('node:os') as { cpus: () => unknown[] };
  const originalCpus = os.cpus;
  URL.createObjectURL = (obj: Blob): string =>
    obj instanceof Blob && obj.type === 'application/javascript' && obj.size === files.workerBlobSize
      ? files.workerPath
      : originalCreateObjectURL(obj);
  os.cpus = () => {
    const cpus = originalCpus.call(os);
    while (cpus.length < 2 * threads) cpus.push(cpus[0]);
    return cpus;
  };
  try {
    return await init();
  } finally {
    URL.createObjectURL = originalCreateObjectURL;
    os.cpus = originalCpus;
  }
}

/** Points later worker creation at our files without global hooks, and lets the process exit. */
function settleThreadedModule(module: WasmModuleView, files: ThreadedFiles): void {
  const locateFile = module.locateFile;
  module.locateFile = (path: string, prefix: string): string =>
    path.endsWith('.worker.js') ? files.workerPath : locateFile ? locateFile(path, prefix) : prefix + path;
  module.mainScriptUrlOrBlob = files.mainScriptPath;
  const pthread = module.PThread;
  if (pthread) for (const w of [...pthread.unusedWorkers, ...pthread.runningWorkers]) w.unref?.();
}

function wasmModuleOf(backend: tf.KernelBackend): WasmModuleView {
  return (backend as unknown as { wasm: WasmModuleView }).wasm;
}

function initializedWasmBackend(): tf.KernelBackend | undefined {
  // `tf.findBackend` would initialise the backend as a side effect; the registry does not.
  return (tf.engine() as unknown as { registry: Record<string, tf.KernelBackend> }).registry.wasm;
}

/**
 * Initialises the `wasm` backend with `threads` XNNPACK threads (multi-threaded in Node, which
 * tfjs itself does not allow) and makes it the active backend.
 *
 * With `threads` 1 the plain SIMD build is used (no workers). If the threaded build cannot start,
 * this falls back to one thread and says why in `note`. The backend can be initialised only once
 * per process: a second call returns the existing thread count.
 *
 * @example
 * import * as tf from '@tensorflow/tfjs-core';
 * const { threads, simd } = await initWasmBackend({ threads: 2 }); // { threads: 2, simd: true }
 * tf.matMul(tf.ones([512, 512]), tf.ones([512, 512])); // runs on 2 threads
 */
export async function initWasmBackend(options: WasmInitOptions = {}): Promise<WasmBackendInfo> {
  const wanted = options.threads ?? availableParallelism();
  if (!Number.isFinite(wanted) || wanted < 1) throw new Error(`initWasmBackend: threads must be a number ≥ 1, got ${options.threads}`);
  const requested = Math.min(MAX_WASM_THREADS, Math.floor(wanted));
  const simdOf = async () => Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));

  if (initializedWasmBackend()) {
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend is registered but could not be activated');
    const threads = getThreadsCount();
    const note = threads !== requested ? `wasm was already initialised with ${threads} thread(s) in this process; the count is fixed at first initialisation` : undefined;
    return { threads, simd: await simdOf(), ...(note ? { note } : {}) };
  }

  const simd = await simdOf();
  let note: string | undefined;
  if (requested > 1) {
    if (!simd) note = 'tfjs ships its threaded wasm build only with SIMD, which this runtime lacks';
    else if (!runtimeSupportsWasmThreads()) note = 'this runtime lacks SharedArrayBuffer, wasm atomics or worker_threads';
    else if (process.execArgv.some((a) => a.startsWith('--input-type'))) note = 'this process was started with --input-type, which Node refuses in the worker threads';
    else {
      try {
        const files = prepareThreadedFiles();
        tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
        setThreadsCount(requested);
        const ok = await withThreadedInitHooks(files, requested, () => tf.setBackend('wasm'));
        if (ok) {
          settleThreadedModule(wasmModuleOf(tf.backend()), files);
          return { threads: getThreadsCount(), simd };
        }
        note = 'the threaded wasm build failed to initialise (see the warning tfjs printed above)';
      } catch (e) {
        note = `the threaded wasm build could not be prepared: ${(e as Error).message}`;
      }
    }
  }

  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise (see the warning tfjs printed above)');
  return { threads: getThreadsCount(), simd, ...(note ? { note } : {}) };
}
