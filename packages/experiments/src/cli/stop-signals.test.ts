/**
 * The training process stops when its launcher is killed outright: a stand-in for pnpm (a node
 * process with `pnpm` on its command line) starts a process that listens for a stop; SIGKILL to
 * the stand-in must reach the listener as a stop request. And a plain SIGTERM is one too.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const LISTENER = `import { listenForStop } from ${JSON.stringify(join(import.meta.dirname, 'stop-signals.ts'))};
  listenForStop((why) => { console.log('stop: ' + why); process.exit(0); }, () => process.exit(1));
  console.log('ready ' + process.pid);
  setInterval(() => {}, 1000);`;
const LAUNCHER = `const { spawn } = require('node:child_process');
  spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ${JSON.stringify(LISTENER)}], { stdio: 'inherit' });
  setInterval(() => {}, 1000);`;

/** Runs the launcher (named pnpm on its command line), calls `act` once the listener is ready. */
function launch(act: (launcher: number, listener: number) => void): Promise<string> {
  return new Promise((done) => {
    const launcher = spawn(process.execPath, ['-e', LAUNCHER, 'pnpm'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    launcher.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const ready = /ready (\d+)/.exec(out);
      if (ready && !out.includes('acted')) {
        out += 'acted\n';
        act(launcher.pid as number, Number(ready[1]));
      }
    });
    // The pipe closes when the listener, its last holder, exits.
    launcher.stdout.on('close', () => done(out));
  });
}

describe.runIf(process.platform === 'linux')('stop signals', () => {
  it('a SIGKILLed pnpm launcher stops the process it started', async () => {
    const out = await launch((pid) => process.kill(pid, 'SIGKILL'));
    expect(out).toMatch(/stop: the launching pnpm process exited/);
  }, 30_000);

  it('SIGTERM asks to stop', async () => {
    const out = await launch((launcher, listener) => {
      process.kill(listener, 'SIGTERM');
      setTimeout(() => process.kill(launcher, 'SIGKILL'), 500);
    });
    expect(out).toMatch(/stop: SIGTERM/);
  }, 30_000);
});
