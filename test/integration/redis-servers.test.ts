// The Redis and NATS test helpers themselves, on real processes: test-services: redis, nats
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import {
  deleteKeys,
  keySlot,
  RespError,
  startCluster,
  startRedis,
  startSentinelSetup,
  startShards,
  stopAll,
  uniquePrefix,
} from '../helpers/redis-servers.js';
import { startNats } from '../helpers/nats-server.js';
import { addressOf, sharedNatsUrl, sharedRedisUrl } from '../helpers/services.js';
import { RespConnection, respCommand } from '../helpers/resp.js';

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startRedis', () => {
  test('answers, restarts on its port, and stop ends the process and removes its directory', async () => {
    const r = await startRedis();
    after(() => r.stop());
    assert.equal(r.url, `redis://127.0.0.1:${r.port}`);
    assert.equal(await r.cli('PING'), 'PONG');
    assert.equal(await r.cli('SET', 'k', 'v'), 'OK');
    assert.equal(await r.cli('GET', 'k'), 'v');
    assert.equal(await r.cli('CONFIG', 'GET', 'save'), 'save\n');
    assert.equal(await r.cli('CONFIG', 'GET', 'appendonly'), 'appendonly\nno');
    assert.equal(await r.cli('CONFIG', 'GET', 'unixsocket'), 'unixsocket\n');
    await assert.rejects(r.cli('NOSUCHCOMMAND'), (e: unknown) => e instanceof RespError && e.kind === 'ERR');

    const firstPid = r.pid;
    await r.restart();
    assert.notEqual(r.pid, firstPid);
    assert.equal(alive(firstPid), false);
    assert.equal(await r.cli('PING'), 'PONG');
    assert.equal(await r.cli('GET', 'k'), '', 'nothing is persisted across a restart');

    await r.kill();
    assert.equal(r.running, false);
    assert.equal(await r.ping(300), false);
    await r.restart();
    assert.equal(await r.cli('PING'), 'PONG');

    const pid = r.pid;
    await r.stop();
    assert.equal(alive(pid), false);
    assert.equal(existsSync(r.dir), false);
  });

  test('pause stops answering PING, resume brings it back, a connection opened while paused gets its reply', async () => {
    const r = await startRedis();
    after(() => r.stop());
    await r.pause();
    assert.equal(await r.ping(300), false);
    const late = respCommand({ host: r.host, port: r.port }, ['ECHO', 'late'], 5000);
    await r.resume();
    assert.equal(await late, 'late');
    assert.equal(await r.ping(), true);
  });

  test('two shards are independent servers', async () => {
    const shards = await startShards(2);
    after(() => stopAll(shards));
    const [a, b] = shards as [NonNullable<(typeof shards)[0]>, NonNullable<(typeof shards)[1]>];
    assert.notEqual(a.port, b.port);
    await a.cli('SET', 'shared-name', 'a');
    assert.equal(await b.cli('GET', 'shared-name'), '');
    await b.kill();
    assert.equal(await a.cli('GET', 'shared-name'), 'a');
  });
});

describe('uniquePrefix and deleteKeys', () => {
  test('deletes exactly the keys under the prefix', async () => {
    const r = await startRedis();
    after(() => r.stop());
    const p = uniquePrefix('del*me');
    assert.match(p, /^rotor-test-del_me-[0-9a-f]{8}$/);
    assert.notEqual(uniquePrefix('del*me'), p);
    // More keys than one SCAN page (COUNT 1000), written over one pipelined connection.
    const c = await RespConnection.open({ host: r.host, port: r.port });
    await Promise.all(Array.from({ length: 1500 }, (_, i) => c.call(['SET', `${p}.k${i}`, i])));
    await c.call(['SET', 'other', 1]);
    await c.call(['SET', `x${p}`, 1]);
    c.close();
    assert.equal(await deleteKeys(r.url, p), 1500);
    assert.equal(await r.cli('DBSIZE'), '2');
  });
});

describe('startSentinelSetup', () => {
  test('a failover moves the master to the replica, which then takes writes', async () => {
    const s = await startSentinelSetup();
    after(() => s.stop());
    assert.equal(s.masterName, 'mymaster');
    assert.deepEqual(await s.masterAddress(), { host: '127.0.0.1', port: s.master.port });
    assert.equal(await s.master.cli('SET', 'before', '1'), 'OK');
    // Replication is asynchronous and a forced failover does not wait for it: WAIT until the
    // replica has the write (the setup is only ready once the replica streams; see it).
    assert.equal(await s.master.cli('WAIT', '1', '5000'), '1');

    const moved = await s.failover();
    assert.deepEqual(moved, { host: '127.0.0.1', port: s.replica.port });
    assert.equal(await s.currentMaster(), s.replica);
    assert.equal(await s.replica.cli('SET', 'after', '2'), 'OK');
    assert.equal(await s.replica.cli('GET', 'before'), '1', 'the replica had the master data');
  });
});

describe('startCluster', () => {
  test('three masters reach cluster_state:ok and a key lives on the node of its slot', async () => {
    const c = await startCluster({ masters: 3 });
    after(() => c.stop());
    assert.equal(c.nodes.length, 3);
    for (const n of c.nodes) assert.match(await n.cli('CLUSTER', 'INFO'), /cluster_state:ok/);

    const key = `${uniquePrefix('cluster')}.k`;
    assert.equal(Number(await c.nodes[0]!.cli('CLUSTER', 'KEYSLOT', key)), keySlot(key));
    assert.equal(keySlot('{user1000}.following'), keySlot('{user1000}.followers'));
    const owner = await c.nodeForKey(key);
    const other = c.nodes.find((n) => n !== owner)!;
    await assert.rejects(other.cli('SET', key, 'v'), (e: unknown) => e instanceof RespError && e.kind === 'MOVED' && e.message.endsWith(`:${owner.port}`));
    assert.equal(await owner.cli('SET', key, 'v'), 'OK');
    assert.equal(await c.command(['GET', key]), 'v');
    assert.equal(await deleteKeys(other.url, key), 1);
    assert.equal(await owner.cli('EXISTS', key), '0');
  });

  test('a replica attaches to its master and serves reads of its slots', async () => {
    const c = await startCluster({ masters: 1, replicas: 1 });
    after(() => c.stop());
    const [master, replica] = [c.masters[0]!, c.replicas[0]!];
    const info = await replica.cli('INFO', 'replication');
    assert.match(info, /^role:slave\r$/m);
    assert.match(info, new RegExp(`^master_port:${master.port}\r$`, 'm'));
    const key = `${uniquePrefix('replica')}.k`;
    assert.equal(await master.cli('SET', key, 'v'), 'OK');
    assert.equal(await master.cli('WAIT', 1, 5000), '1');
    const conn = await RespConnection.open({ host: replica.host, port: replica.port });
    after(() => conn.close());
    assert.equal(await conn.call(['READONLY']), 'OK');
    assert.equal(await conn.call(['GET', key]), 'v');
  });
});

describe('startNats', () => {
  test('accepts a TCP connection that receives INFO, and pauses, resumes and restarts', async () => {
    const n = await startNats();
    after(() => n.stop());
    assert.equal(n.url, `nats://127.0.0.1:${n.port}`);
    const first = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: n.host, port: n.port });
      s.setEncoding('utf8');
      s.once('data', (d: string) => {
        s.destroy();
        resolve(d);
      });
      s.once('error', reject);
    });
    assert.match(first, /^INFO \{.*"port":\d+/);

    await n.pause();
    assert.equal(await n.ping(300), false);
    await n.resume();
    assert.equal(await n.ping(), true);
    const pid = n.pid;
    await n.restart();
    assert.notEqual(n.pid, pid);
    assert.equal(await n.ping(), true);
  });
});

describe('services', () => {
  test('the runner named a shared Redis and NATS that answer', async () => {
    assert.equal(await respCommand(addressOf(sharedRedisUrl()), ['PING']), 'PONG');
    const nats = addressOf(sharedNatsUrl());
    const { natsInfo } = await import('../helpers/nats-server.js');
    assert.notEqual(await natsInfo(nats.host, nats.port), undefined);
  });
});
