/**
 * The parts every proxy request shares (src/proxy/requests.ts) and RPC routing
 * (src/proxy/rpc-router.ts): header precedence and what a connection keeps, payloads in either
 * encoding, strict base64 in results, meta only when asked for, and which proxy a method reaches.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  forwardedHeaders, headerNeeds, keepHeaders, requestBase, resultBytes, setPayload, userRequestBase, type ProxyEntry,
} from '../../../src/proxy/requests.js';
import { RpcRouter } from '../../../src/proxy/rpc-router.js';
import { ProxyCallError, type ProxyCaller, type RequestPayload } from '../../../src/proxy/types.js';
import type { ClientContext, KeptHeaders } from '../../../src/node/events.js';

const caller: ProxyCaller = { name: 'test', call: () => Promise.reject(new Error('unused')), close: async () => {} };

function entry(o: Partial<ProxyEntry> = {}): ProxyEntry {
  return { caller, httpHeaders: [], emulatedHeaders: [], grpcMetadata: [], includeConnectionMeta: false, binaryEncoding: false, ...o };
}

const map = (o: Record<string, string>) => new Map(Object.entries(o));

function kept(request: Record<string, string>, emulated: Record<string, string>, metadata: Record<string, string> = {}): KeptHeaders {
  return { request: map(request), emulated: map(emulated), metadata: map(metadata) };
}

function client(meta?: Uint8Array): ClientContext {
  return {
    clientId: 'c1',
    user: 'u1',
    transport: { name: 'websocket', protocol: 'protobuf', unidirectional: false, emulation: false } as ClientContext['transport'],
    connInfo: undefined,
    meta,
    isSubscribed: () => false,
    keptHeaders: undefined,
  };
}

describe('proxy requests: headers', () => {
  it('a request header wins over the emulated one of the same name; each list takes only its own kind', () => {
    const p = entry({ httpHeaders: ['x-both', 'x-real'], emulatedHeaders: ['x-both', 'x-emu'] });
    const h = kept({ 'x-both': 'request', 'x-emu': 'request-emu', 'x-other': 'o' }, { 'x-both': 'emulated', 'x-emu': 'emu', 'x-real': 'emulated-real' });
    assert.deepEqual(Object.fromEntries(forwardedHeaders(p, h)), { 'x-both': 'request', 'x-emu': 'emu' });
  });

  it('gRPC metadata only for a connection that came without HTTP headers (uni_grpc)', () => {
    const p = entry({ httpHeaders: ['x-a'], grpcMetadata: ['x-a', 'x-md'] });
    assert.deepEqual(Object.fromEntries(forwardedHeaders(p, kept({}, {}, { 'x-a': 'md-a', 'x-md': 'md' }))), { 'x-a': 'md-a', 'x-md': 'md' });
    assert.deepEqual(Object.fromEntries(forwardedHeaders(p, kept({ 'x-a': 'http' }, {}, { 'x-md': 'md' }))), { 'x-a': 'http' });
  });

  it('every call gets a map of its own: changing one never shows in another connection’s', () => {
    const p = entry({ httpHeaders: ['x-a'] });
    const one = forwardedHeaders(p, kept({ 'x-a': '1' }, {})) as Map<string, string>;
    one.set('x-a', 'changed');
    assert.equal(forwardedHeaders(p, kept({ 'x-a': '2' }, {})).get('x-a'), '2');
    assert.equal(forwardedHeaders(p, undefined).size, 0);
    assert.equal(forwardedHeaders(entry(), kept({ 'x-a': '1' }, {})).size, 0, 'a proxy forwarding nothing');
  });

  it('a connection keeps only the names some proxy forwards, and nothing when none is present', () => {
    const needs = headerNeeds([entry({ httpHeaders: ['x-a'] }), entry({ emulatedHeaders: ['x-e'], grpcMetadata: ['x-m'] })]);
    const k = keepHeaders(needs, map({ 'x-a': 'a', cookie: 'secret' }), map({ 'x-e': 'e', 'x-a': 'ea' }), map({ 'x-m': 'm' }));
    assert.deepEqual(k && [Object.fromEntries(k.request), Object.fromEntries(k.emulated), Object.fromEntries(k.metadata)], [{ 'x-a': 'a' }, { 'x-e': 'e' }, { 'x-m': 'm' }]);
    assert.equal(keepHeaders(needs, map({ cookie: 'c' }), map({}), map({})), undefined);
  });
});

describe('proxy requests: fields and payloads', () => {
  it('the connection fields; user, and meta only with include_connection_meta', () => {
    assert.deepEqual(requestBase(client(), entry({ binaryEncoding: true })), { client: 'c1', transport: 'websocket', protocol: 'protobuf', encoding: 'binary' });
    const meta = new Uint8Array(Buffer.from('{"m":1}'));
    assert.equal(userRequestBase(client(meta), entry()).meta, undefined);
    assert.equal(userRequestBase(client(meta), entry({ includeConnectionMeta: true })).meta, meta);
    assert.equal('meta' in userRequestBase(client(undefined), entry({ includeConnectionMeta: true })), false);
  });

  it('payloads as bytes, or base64 with binary_encoding; none when empty', () => {
    const data = new Uint8Array([0, 1, 255]);
    const plain: RequestPayload = {};
    setPayload(plain, data, entry());
    assert.deepEqual(plain, { data });
    const bin: RequestPayload = {};
    setPayload(bin, data.subarray(1), entry({ binaryEncoding: true }));
    assert.deepEqual(bin, { b64data: 'Af8=' }, 'a view is encoded from its own bytes');
    const none: RequestPayload = {};
    setPayload(none, new Uint8Array(0), entry({ binaryEncoding: true }));
    setPayload(none, undefined, entry());
    assert.deepEqual(none, {});
  });

  it('result bytes: b64 wins over the plain field; bad base64 is a ProxyCallError', () => {
    const raw = new Uint8Array([1]);
    assert.deepEqual(resultBytes({ raw, b64: 'AP8=' }), new Uint8Array([0, 255]));
    assert.equal(resultBytes({ raw }), raw);
    assert.equal(resultBytes({}), undefined);
    assert.throws(() => resultBytes({ b64: 'AP8' }), ProxyCallError);
  });
});

describe('proxy rpc router', () => {
  const router = (boundary = ':') =>
    new RpcRouter(boundary, { proxyEnabled: true, proxyName: 'default' }, new Map([['ns', { proxyEnabled: true, proxyName: 'named' }], ['off', { proxyEnabled: false, proxyName: 'default' }]]), () => undefined);

  it('ns:method to its namespace; no boundary to without_namespace; disabled and unknown namespaces apart', () => {
    const r = router();
    assert.deepEqual(r.route('hello'), { kind: 'proxy', name: 'default' });
    assert.deepEqual(r.route('ns:hello'), { kind: 'proxy', name: 'named' });
    assert.deepEqual(r.route('ns:a:b'), { kind: 'proxy', name: 'named' }, 'the first boundary splits');
    assert.deepEqual(r.route('off:hello'), { kind: 'not_proxied' });
    assert.deepEqual(r.route('nope:hello'), { kind: 'unknown_namespace' });
    assert.deepEqual(r.route(':hello'), { kind: 'proxy', name: 'default' }, 'an empty namespace is without namespace, as in Centrifugo');
    assert.equal(r.anyProxy, true);
  });

  it('an empty boundary: every method is without namespace', () => {
    assert.deepEqual(router('').route('ns:hello'), { kind: 'proxy', name: 'default' });
  });
});
