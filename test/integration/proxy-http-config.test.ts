/**
 * Proxy configuration mistakes stop the server at startup with a message naming the key, as a
 * user running `rotor -c config.json` sees it: a bad endpoint scheme, a namespace or RPC namespace
 * naming a proxy that is not in `proxies[]`, an enabled connect proxy without an endpoint, an
 * endpoint that is not a URL, a status transform with neither an error nor a disconnect, and an
 * `http.tls` CA that cannot be read.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rotor } from '../helpers/cli.js';
import { tempDir } from '../helpers/server-process.js';

const base = {
  http_server: { address: '127.0.0.1', port: 0 },
  client: { token: { hmac_secret_key: 'secret' } },
  http_api: { key: 'api-key' },
};

const dir = tempDir();
after(() => dir.cleanup());

const cases: { name: string; config: Record<string, unknown>; key: string; why: RegExp }[] = [
  {
    name: 'a bad endpoint scheme',
    config: { channel: { proxy: { subscribe: { endpoint: 'ftp://backend/subscribe' } } } },
    key: 'channel.proxy.subscribe.endpoint',
    why: /must start with http:\/\/, https:\/\/ or grpc:\/\//,
  },
  {
    name: 'a namespace naming an unknown proxy',
    config: { channel: { namespaces: [{ name: 'ns', publish_proxy_enabled: true, publish_proxy_name: 'nope' }] } },
    key: 'channel.namespaces[0].publish_proxy_name',
    why: /proxy "nope" is not defined in proxies/,
  },
  {
    name: 'an RPC namespace naming an unknown proxy',
    config: { rpc: { namespaces: [{ name: 'r', proxy_enabled: true, proxy_name: 'missing' }] } },
    key: 'rpc.namespaces[0].proxy_name',
    why: /proxy "missing" is not defined in proxies/,
  },
  {
    name: 'an enabled connect proxy without endpoint',
    config: { client: { token: { hmac_secret_key: 'secret' }, proxy: { connect: { enabled: true } } } },
    key: 'client.proxy.connect.endpoint',
    why: /required when client\.proxy\.connect\.enabled is true/,
  },
  {
    name: 'an endpoint that is not a URL',
    config: { rpc: { proxy: { endpoint: 'http://' }, without_namespace: { proxy_enabled: true } } },
    key: 'rpc.proxy.endpoint',
    why: /is not a URL/,
  },
  {
    name: 'a status transform with neither an error nor a disconnect',
    config: {
      client: {
        token: { hmac_secret_key: 'secret' },
        proxy: { connect: { enabled: true, endpoint: 'http://127.0.0.1:9/connect', http: { status_to_code_transforms: [{ status_code: 403 }] } } },
      },
    },
    key: 'client.proxy.connect.http.status_to_code_transforms[0]',
    why: /needs to_error\.code or to_disconnect\.code/,
  },
  {
    name: 'an unreadable http.tls CA',
    config: {
      proxies: [{ name: 'secure', endpoint: 'https://127.0.0.1:9/x', http: { tls: { enabled: true, server_ca_pem: '/nonexistent/ca.pem' } } }],
      rpc: { without_namespace: { proxy_enabled: true, proxy_name: 'secure' } },
    },
    key: 'proxies[0].http.tls.server_ca_pem',
    why: /neither PEM text, base64-encoded PEM nor a readable file/,
  },
];

// Each case is a process of its own: they run side by side.
describe('proxy config errors at startup', { concurrency: true }, () => {
  for (const c of cases) {
    it(`${c.name} stops the server naming ${c.key}`, async () => {
      const file = dir.file(`${c.key.replace(/[^a-z0-9]/gi, '_')}.json`, { ...base, ...c.config });
      const run = await rotor(dir.dir, ['-c', file]);
      const out = run.stdout + run.stderr;
      assert.equal(run.code, 1, out);
      const line = out.split('\n').find((l) => l.includes(c.key));
      assert.ok(line !== undefined, `no output line names ${c.key}:\n${out}`);
      assert.match(line, c.why);
    });
  }
});
