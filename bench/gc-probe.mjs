// Preload for experiments with the bench apps: how much garbage collection each HTTP request costs an app.
// Prints one line at exit: requests served, minor (scavenge) and major collections, their time per request.
//
//   NODE_OPTIONS="--import $PWD/bench/gc-probe.mjs" BENCH_EXTRA=apps/x.mjs node bench/layers.mjs
import { PerformanceObserver, constants } from 'node:perf_hooks';
import http from 'node:http';
import v8 from 'node:v8';

const minor = [];
const major = [];
let requests = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR ? minor : major).push(e.duration);
}).observe({ entryTypes: ['gc'] });
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function countRequests(event, ...args) {
  if (event === 'request') requests++;
  return emit.call(this, event, ...args);
};
const sum = (a) => a.reduce((x, y) => x + y, 0);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1] ?? 0;
process.on('exit', () => {
  if (requests < 1000) return; // the orchestrator, or an app that served nothing
  const app = process.argv[1].split('/').slice(-2).join('/');
  const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
  console.error(
    `[gc] ${app}: ${requests} requests; minor ${minor.length} (median ${median(minor).toFixed(2)} ms, ` +
      `${((sum(minor) * 1000) / requests).toFixed(1)} µs/request, one per ${(requests / minor.length).toFixed(0)} requests); ` +
      `major ${major.length} (${((sum(major) * 1000) / requests).toFixed(1)} µs/request); new space ${newSpace.toFixed(1)} MB`,
  );
});
