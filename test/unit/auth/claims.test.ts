import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidTokenError, TokenVerifier } from '../../../src/auth/verifier.js';
import { sign } from '../../fixtures/keys/index.js';

const NOW = 1_700_000_000;
const SECRET = 'secret';
const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function verifier(): TokenVerifier {
  return new TokenVerifier({ hmacSecretKey: SECRET, cacheSize: 0 }, { now: () => NOW * 1000 });
}
const connect = async (claims: Record<string, unknown>) => verifier().verifyConnectToken(await sign(claims, 'HS256', SECRET));
/** HS256 token over a payload exactly as written (not via JSON.stringify): big integers and number spelling survive. */
function rawToken(payload: string): string {
  const h = Buffer.from('{"alg":"HS256"}').toString('base64url');
  const p = Buffer.from(payload).toString('base64url');
  return `${h}.${p}.${createHmac('sha256', SECRET).update(`${h}.${p}`).digest('base64url')}`;
}
const subscribe = async (claims: Record<string, unknown>) => verifier().verifySubscriptionToken(await sign(claims, 'HS256', SECRET));

describe('connection token claims', () => {
  it('maps info to its JSON bytes and meta to its JSON bytes', async () => {
    const c = await connect({ sub: 'u', info: { name: 'Ann', tags: [1, 2] }, meta: { plan: 'pro' } });
    assert.deepEqual(JSON.parse(text(c.info) ?? ''), { name: 'Ann', tags: [1, 2] });
    assert.equal(text(c.meta), '{"plan":"pro"}');
  });

  it('b64info wins over info and is decoded to raw bytes', async () => {
    const c = await connect({ sub: 'u', info: { a: 1 }, b64info: Buffer.from([0, 1, 255]).toString('base64') });
    assert.deepEqual(c.info, new Uint8Array([0, 1, 255]));
  });

  it('empty b64info falls back to info; absent/null info gives no info', async () => {
    assert.equal(text((await connect({ b64info: '', info: 'x' })).info), '"x"');
    assert.equal((await connect({ info: null })).info, undefined);
    assert.equal((await connect({})).info, undefined);
    assert.equal((await connect({})).meta, undefined);
  });

  it('rejects b64info that is not standard padded base64', async () => {
    for (const bad of ['!!!', 'abc', 'YQ', 'YQ==\n', 'YW_i']) {
      await assert.rejects(connect({ b64info: bad }), /b64info/);
    }
    await assert.rejects(connect({ b64info: 5 }), /b64info/);
  });

  it('channels must be a string array', async () => {
    assert.deepEqual((await connect({ channels: ['a', 'ns:b'] })).channels, ['a', 'ns:b']);
    await assert.rejects(connect({ channels: 'a' }), /channels/);
    await assert.rejects(connect({ channels: ['a', 1] }), /channels/);
  });

  it('subs map with info/b64info, data/b64data and override; expire_at there is ignored', async () => {
    const c = await connect({
      channels: ['ignored'],
      subs: {
        news: { info: { role: 'reader' }, data: [1], override: { presence: { value: true }, join_leave: { value: false } } },
        bin: { b64info: Buffer.from('hi').toString('base64'), b64data: Buffer.from('yo').toString('base64'), info: 'lost' },
        opts: {
          override: { force_push_join_leave: { value: true }, force_recovery: { value: true }, force_positioning: {} },
          expire_at: NOW + 100,
        },
        bare: {},
      },
    });
    assert.deepEqual(c.channels, [], 'channels are ignored when subs has entries');
    const subs = c.subs ?? {};
    assert.deepEqual(Object.keys(subs).sort(), ['bare', 'bin', 'news', 'opts']);
    assert.equal(text(subs.news.info), '{"role":"reader"}');
    assert.equal(text(subs.news.data), '[1]');
    assert.deepEqual(subs.news.override, { presence: true, joinLeave: false });
    assert.deepEqual(subs.bin.info, bytes('hi'));
    assert.deepEqual(subs.bin.data, bytes('yo'));
    assert.deepEqual(subs.opts.override, { forcePushJoinLeave: true, forceRecovery: true, forcePositioning: false });
    assert.equal('expireAt' in subs.opts, false, 'connection-token subs options have no expiry in Centrifugo');
    assert.deepEqual({ ...subs.bare }, {});
  });

  it('an empty subs object does not override channels', async () => {
    const c = await connect({ channels: ['a'], subs: {} });
    assert.deepEqual(c.channels, ['a']);
    assert.equal(c.subs, undefined);
  });

  it('subs channel names are plain keys (no prototype tricks)', async () => {
    const c = await connect(JSON.parse('{"subs":{"__proto__":{"info":1}}}') as Record<string, unknown>);
    assert.ok(c.subs && Object.hasOwn(c.subs, '__proto__'));
  });

  it('expire_at inside a subs entry is not a claim of it: any value is ignored', async () => {
    for (const expire_at of [NOW - 5, NOW + 1, 'soon', 1.5]) {
      const c = await connect({ subs: { a: { expire_at } } });
      assert.deepEqual({ ...c.subs?.a }, {}, String(expire_at));
    }
  });

  it('rejects malformed subs', async () => {
    await assert.rejects(connect({ subs: ['a'] }), /"subs" claim must be an object/);
    await assert.rejects(connect({ subs: { a: 'x' } }), /subs\["a"\]/);
    await assert.rejects(connect({ subs: { a: { b64data: '***' } } }), /b64data/);
    await assert.rejects(connect({ subs: { a: { override: { presence: true } } } }), /override.presence/);
    await assert.rejects(connect({ subs: { a: { override: { presence: { value: 'yes' } } } } }), /override.presence.value/);
  });

  it('expireAt: exp, then expire_at overrides, expire_at 0 = never', async () => {
    assert.equal((await connect({ exp: NOW + 50 })).expireAt, NOW + 50);
    assert.equal((await connect({ exp: NOW + 50.7 })).expireAt, NOW + 50);
    assert.equal((await connect({ exp: NOW + 50, expire_at: NOW + 3600 })).expireAt, NOW + 3600);
    assert.equal((await connect({ exp: NOW + 50, expire_at: 0 })).expireAt, 0);
    assert.equal((await connect({ exp: NOW + 50, expire_at: null })).expireAt, NOW + 50);
    assert.equal((await connect({})).expireAt, 0);
    await assert.rejects(connect({ expire_at: 1.5 }), /expire_at/);
  });

  it('expire_at does not rescue an expired token (exp is still validated)', async () => {
    await assert.rejects(connect({ exp: NOW - 1, expire_at: 0 }), { name: 'TokenExpiredError' });
  });

  it('a connection token with a channel claim is invalid', async () => {
    await assert.rejects(connect({ sub: 'u', channel: 'news' }), InvalidTokenError);
    await assert.rejects(connect({ sub: 'u', channel: 5 }), InvalidTokenError);
    assert.equal((await connect({ sub: 'u', channel: '' })).user, 'u', 'empty channel counts as absent');
  });
});

describe('raw JSON claims keep their source bytes', () => {
  it('info, meta and subs info/data are the exact token text (big integers, 1.10, spacing)', async () => {
    const c = await verifier().verifyConnectToken(
      rawToken('{"sub":"u","info":{"id":12345678901234567891,"price":1.10},"meta": [ 1e400 ],"subs":{"ch":{"info":{"n":98765432109876543210},"data":0.50}}}'),
    );
    assert.equal(text(c.info), '{"id":12345678901234567891,"price":1.10}');
    assert.equal(text(c.meta), '[ 1e400 ]');
    assert.equal(text(c.subs?.ch?.info), '{"n":98765432109876543210}');
    assert.equal(text(c.subs?.ch?.data), '0.50');
    const s = await verifier().verifySubscriptionToken(rawToken('{"channel":"c","info":{"big":12345678901234567891},"data":[1.0]}'));
    assert.equal(text(s.info), '{"big":12345678901234567891}');
    assert.equal(text(s.data), '[1.0]');
  });

  it('raw null is absent; other claims are still type-checked', async () => {
    const c = await verifier().verifyConnectToken(rawToken('{"sub":"u","info":null,"meta":null}'));
    assert.equal(c.info, undefined);
    assert.equal(c.meta, undefined);
    await assert.rejects(verifier().verifyConnectToken(rawToken('{"sub":5,"info":{}}')), InvalidTokenError);
    await assert.rejects(verifier().verifyConnectToken(rawToken('{"sub":"u","info":{}')), InvalidTokenError);
  });
});

describe('user_id_claim', () => {
  const withClaim = (claim: string) => new TokenVerifier({ hmacSecretKey: SECRET, cacheSize: 0, userIdClaim: claim }, { now: () => NOW * 1000 });
  const userOf = async (claim: string, payload: Record<string, unknown> | string) => {
    const token = typeof payload === 'string' ? rawToken(payload) : await sign(payload, 'HS256', SECRET);
    return (await withClaim(claim).verifyConnectToken(token)).user;
  };

  it('a custom claim is read as gjson .String(): numbers and booleans become their JSON text', async () => {
    assert.equal(await userOf('user_id', { user_id: 42 }), '42');
    assert.equal(await userOf('user_id', { user_id: '42' }), '42');
    assert.equal(await userOf('user_id', { user_id: true }), 'true');
    assert.equal(await userOf('user_id', { user_id: -7 }), '-7');
    assert.equal(await userOf('user_id', { user_id: 1.5 }), '1.5');
    assert.equal(await userOf('user_id', '{"user_id":12345678901234567891}'), '12345678901234567891');
    assert.equal(await userOf('user_id', '{"user_id":1e21}'), '1000000000000000000000');
    assert.equal(await userOf('user_id', '{"user_id":2.50}'), '2.5');
    assert.equal(await userOf('user_id', '{"user_id":{"a": [1, 2]}}'), '{"a": [1, 2]}', 'an object as its exact source text');
    assert.equal(await userOf('user_id', { user_id: null }), '');
    assert.equal(await userOf('user_id', { sub: 'ignored' }), '');
  });

  it('a claim named like an Object member is read from the token only: absent means anonymous, not Object\'s member', async () => {
    for (const claim of ['constructor', 'toString', 'valueOf', '__proto__']) {
      assert.equal(await userOf(claim, { sub: 'ignored' }), '', claim);
    }
    assert.equal(await userOf('constructor', '{"constructor":"u7"}'), 'u7');
    assert.equal(await userOf('__proto__', '{"__proto__":"u8"}'), 'u8');
  });

  it('the default sub must stay a string', async () => {
    await assert.rejects(connect({ sub: 42 }), InvalidTokenError);
    await assert.rejects(userOf('sub', { sub: 42 }), InvalidTokenError);
  });
});

describe('subscription token claims', () => {
  it('maps channel, client, info, data, override and expiry', async () => {
    const s = await subscribe({
      sub: 'u', channel: 'news', client: 'c-1', exp: NOW + 10, info: { r: 1 }, b64data: Buffer.from('d').toString('base64'),
      override: { presence: { value: false }, force_recovery: { value: true } },
    });
    assert.equal(s.user, 'u');
    assert.equal(s.channel, 'news');
    assert.equal(s.client, 'c-1');
    assert.equal(s.expireAt, NOW + 10);
    assert.equal(text(s.info), '{"r":1}');
    assert.deepEqual(s.data, bytes('d'));
    assert.deepEqual(s.override, { presence: false, forceRecovery: true });
  });

  it('expire_at overrides exp and 0 means never', async () => {
    assert.equal((await subscribe({ channel: 'c', exp: NOW + 10, expire_at: 0 })).expireAt, 0);
    assert.equal((await subscribe({ channel: 'c', exp: NOW + 10, expire_at: NOW + 99 })).expireAt, NOW + 99);
    assert.equal((await subscribe({ channel: 'c' })).expireAt, 0);
  });

  it('requires a non-empty string channel', async () => {
    await assert.rejects(subscribe({ sub: 'u' }), /"channel" claim is required/);
    await assert.rejects(subscribe({ sub: 'u', channel: '' }), /"channel" claim is required/);
    await assert.rejects(subscribe({ sub: 'u', channel: ['a'] }), InvalidTokenError);
  });

  it('optional fields stay absent', async () => {
    const s = await subscribe({ channel: 'c' });
    assert.deepEqual(s, { user: '', channel: 'c', expireAt: 0 });
  });

  it('rejects a non-string client', async () => {
    await assert.rejects(subscribe({ channel: 'c', client: 1 }), /client/);
  });
});
