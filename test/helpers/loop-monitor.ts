/**
 * Preloaded into a child `breakwater` by tests (`--import`): every 5 ms, writes on stderr how much
 * CPU the main thread used since the last look, when that is over 5 ms:
 * `loop-turn {"at": <ms since epoch>, "cpuMs": <n>}`. A task that holds the event loop shows as
 * one large value. CPU time, not wall time: on a loaded machine a thread waiting for a core is not
 * stalling its loop, a thread running a parse is. Needs `process.threadCpuUsage` (Node ≥ 23.9).
 */
import { isMainThread } from 'node:worker_threads';

if (isMainThread && typeof process.threadCpuUsage === 'function') {
  process.stderr.write('loop-monitor ready\n');
  let last = process.threadCpuUsage();
  setInterval(() => {
    const now = process.threadCpuUsage();
    const cpuMs = (now.user - last.user + now.system - last.system) / 1000;
    last = now;
    if (cpuMs > 5) process.stderr.write(`loop-turn ${JSON.stringify({ at: Date.now(), cpuMs })}\n`);
  }, 5).unref();
}
