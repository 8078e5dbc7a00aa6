/**
 * The `webgpu` backend in Node: tfjs-backend-webgpu on Dawn, Chrome's WebGPU implementation,
 * which the `webgpu` npm package ships prebuilt as `dawn.node` (Linux: Vulkan underneath).
 *
 * tfjs-backend-webgpu registers its backend at import time only when `navigator.gpu` exists, and
 * Node has no `navigator.gpu`: so Dawn is loaded first, its `GPU` object installed as
 * `navigator.gpu` and its constants (`GPUBufferUsage`, `GPUMapMode`, …) as globals, and only then
 * is the tfjs package imported. Before that, the adapter is asked for here, so that "no GPU"
 * (no Vulkan loader, no driver, or a software rasteriser) is a reason in one line rather than an
 * exception from inside tfjs's factory.
 *
 * This only initialises: whether the numbers are right is the caller's self-check (Dawn's null
 * backend, for one, hands out an adapter whose matMul results are garbage).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Dawn's adapter description, as far as it gives one. */
export interface WebGpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Whether it is a CPU implementation (SwiftShader, lavapipe, llvmpipe): works, but no faster than wasm. */
  software: boolean;
}

export type WebGpuInit = { ok: true; tfjsBackend: string; adapter: WebGpuAdapterInfo } | { ok: false; reason: string };

/** Adapter descriptions of CPU implementations of Vulkan / WebGPU. */
const SOFTWARE_ADAPTER = /swiftshader|lavapipe|llvmpipe|softpipe/i;

interface DawnModule {
  create(flags: string[]): { requestAdapter(options?: { powerPreference?: string }): Promise<DawnAdapter | null> };
  globals: Record<string, unknown>;
}
interface DawnAdapter {
  info?: Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>> & { isFallbackAdapter?: boolean };
}

let pending: Promise<WebGpuInit> | undefined;

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

function describeAdapter(adapter: DawnAdapter): WebGpuAdapterInfo {
  const info = adapter.info ?? {};
  const fields = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
  };
  return { ...fields, software: Boolean(info.isFallbackAdapter) || SOFTWARE_ADAPTER.test(Object.values(fields).join(' ')) };
}

/** One line naming the adapter, e.g. `nvidia hopper (NVIDIA H200)`. */
export function adapterLabel(adapter: WebGpuAdapterInfo): string {
  const name = [adapter.vendor, adapter.architecture].filter(Boolean).join(' ') || 'unknown adapter';
  const detail = adapter.description || adapter.device;
  return detail ? `${name} (${detail})` : name;
}

async function initialise(): Promise<WebGpuInit> {
  let dawn: DawnModule;
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule;
  } catch (e) {
    return { ok: false, reason: `Dawn (the webgpu package's dawn.node) failed to load: ${firstLine(e)}` };
  }
  let gpu: ReturnType<DawnModule['create']>;
  let adapter: DawnAdapter | null;
  try {
    gpu = dawn.create([]);
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ok: false, reason: `Dawn could not look for a GPU adapter: ${firstLine(e)}` };
  }
  if (!adapter) return { ok: false, reason: 'Dawn found no GPU adapter (no Vulkan loader libvulkan.so.1, no Vulkan driver for a GPU, or one Dawn rejects)' };

  Object.assign(globalThis, dawn.globals);
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else if (g.navigator.gpu === undefined) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  try {
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    return { ok: false, reason: `@tensorflow/tfjs-backend-webgpu failed to load: ${firstLine(e)}` };
  }
  if (!tf.findBackendFactory('webgpu')) return { ok: false, reason: '@tensorflow/tfjs-backend-webgpu did not register its backend (navigator.gpu not seen)' };
  return { ok: true, tfjsBackend: 'webgpu', adapter: describeAdapter(adapter) };
}

/**
 * Loads Dawn, finds a GPU adapter and registers tfjs's `webgpu` backend (not activated: that is
 * `tf.setBackend('webgpu')`), or says in one line why not. Never throws; runs once per process.
 *
 * @example
 * const gpu = await initWebGpu();
 * if (gpu.ok) await tf.setBackend(gpu.tfjsBackend); else console.warn(gpu.reason);
 */
export function initWebGpu(): Promise<WebGpuInit> {
  pending ??= initialise();
  return pending;
}
