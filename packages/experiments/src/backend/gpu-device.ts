/**
 * Whether this machine exposes a GPU to its processes: NVIDIA's driver nodes, or a DRM render
 * node (AMD, Intel, and NVIDIA's open driver). `auto` looks for a GPU through Dawn only where one
 * exists, so a CPU machine never loads Dawn.
 */
import { existsSync, readdirSync } from 'node:fs';

export const GPU_DEVICE_NODES = ['/dev/nvidiactl', '/dev/dri/renderD*'] as const;

export function gpuDevicePresent(): boolean {
  if (existsSync('/dev/nvidiactl')) return true;
  try {
    return readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}
