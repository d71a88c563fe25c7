/**
 * `debug.enabled`: the profiling endpoints on a real server — the index, a CPU profile of the
 * requested length (one at a time; bad lengths refused), a heap snapshot in DevTools' format —
 * and none of it without the option.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.js';
import type { ConfigInput } from '../../src/config/schema.js';

test('debug endpoints: index, CPU profile (one at a time), heap snapshot; off by default', async () => {
  const off = await startServer({});
  try {
    assert.equal((await fetch(`${off.httpUrl}/debug/pprof/heap`)).status, 404);
  } finally {
    await off.stop();
  }
  const srv = await startServer({ debug: { enabled: true } } as ConfigInput);
  const base = `${srv.httpUrl}/debug/pprof`;
  try {
    const index = await fetch(`${base}/`);
    assert.deepEqual(await index.json(), { heap: '/debug/pprof/heap', profile: '/debug/pprof/profile?seconds=30' });
    assert.equal((await fetch(`${base}/profile?seconds=0`)).status, 400);
    assert.equal((await fetch(`${base}/profile?seconds=abc`)).status, 400);
    assert.equal((await fetch(`${base}/nothing`)).status, 404);

    // The headers come when profiling starts: from then on a second profile is refused.
    const res = await fetch(`${base}/profile?seconds=1`);
    assert.equal(res.status, 200);
    assert.equal((await fetch(`${base}/profile?seconds=1`)).status, 409);
    assert.match(res.headers.get('content-disposition') ?? '', /\.cpuprofile"$/);
    const profile = (await res.json()) as { nodes: unknown[]; samples: number[]; startTime: number; endTime: number };
    assert.ok(profile.nodes.length > 0 && Array.isArray(profile.samples));
    assert.ok(profile.endTime - profile.startTime >= 900_000, `profiled ${profile.endTime - profile.startTime} µs`);

    const heap = await fetch(`${base}/heap`);
    assert.equal(heap.status, 200);
    assert.match(heap.headers.get('content-disposition') ?? '', /\.heapsnapshot"$/);
    const reader = heap.body!.getReader();
    const { value } = await reader.read();
    assert.match(Buffer.from(value!).toString('utf8', 0, 40), /^\{"snapshot":\{/);
    await reader.cancel();
  } finally {
    await srv.stop();
  }
});
