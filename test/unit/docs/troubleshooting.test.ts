/**
 * docs/troubleshooting.md is written by hand, so these checks keep it honest against the code: the
 * codes it names exist with the meaning it gives, the option keys and env vars it writes exist in
 * the schema, the texts it quotes as exact (`"…"` in backticks) occur in src/, HTTP statuses it
 * pairs with an API answer text match the API's table, and its links reach existing headings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiStatus } from '../../../src/api/statuses.js';
import { configOptions } from '../../../src/config/index.js';
import { documentedEnvName } from '../../../src/config/describe.js';
import { LEGACY_KEYS } from '../../../src/config/legacy-keys.js';
import { ApiErrorCode, DisconnectCode, ErrorCode, UnsubscribeCode } from '../../../src/protocol/codes.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const docsDir = join(root, 'docs');
const guide = readFileSync(join(docsDir, 'troubleshooting.md'), 'utf8');

/** The guide without its fenced blocks (whole example outputs and configs, checked by hand). */
const prose = guide.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
/** Inline code spans of the prose. */
const spans = [...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);

const options = configOptions();
const paths = new Set(options.map((o) => o.path));
const sections = new Set(options.map((o) => o.path.split(/[.[]/)[0]!));
const leafNames = new Set(options.map((o) => o.path.slice(o.path.lastIndexOf('.') + 1).replace('[]', '')));

test('troubleshooting - every "code NNNN" exists in the code tables, with the name the guide gives', () => {
  const names = new Map<number, Set<string>>();
  const add = (code: number, name: string): void => void (names.get(code) ?? names.set(code, new Set()).get(code)!).add(name);
  for (const e of Object.values(ErrorCode)) add(e.code, e.message);
  for (const e of Object.values(ApiErrorCode)) add(e.code, e.message);
  for (const e of Object.values(DisconnectCode)) add(e.code, e.reason);
  for (const e of Object.values(UnsubscribeCode)) add(e.code, e.reason);

  const found = [...prose.matchAll(/\bcode (\d{3,4})\b(?: \(`([^`]+)`\))?/g)];
  assert.ok(found.length >= 15, `expected the guide to name codes as "code NNNN (\`name\`)", found ${found.length}`);
  for (const [text, num, name] of found) {
    const known = names.get(Number(num));
    assert.ok(known !== undefined, `"${text}": no code ${num} in src/protocol/codes.ts`);
    if (name !== undefined) assert.ok(known.has(name), `"${text}": code ${num} is ${[...known].map((n) => `"${n}"`).join(' or ')}`);
  }
});

test('troubleshooting - every option key in backticks exists in the config schema', () => {
  // `client.queue_max_size`, `channel.namespaces[].name`, `channel.namespaces[0].name`: a dotted
  // path whose first segment is a section of the schema. `connect.subs` (a protocol field) is not.
  const dotted = spans
    .filter((s) => /^[a-z][a-z0-9_]*(\[\d*\])?(\.[a-z0-9_]+(\[\d*\])?)+$/.test(s))
    .map((s) => s.replace(/\[\d+\]/g, '[]'))
    .filter((s) => sections.has(s.split(/[.[]/)[0]!));
  assert.ok(dotted.length >= 30, `expected many option keys in the guide, found ${dotted.length}`);
  for (const key of dotted) assert.ok(paths.has(key), `\`${key}\` is not an option of src/config/schema (see docs/config.md)`);

  // Bare snake_case words (`allow_subscribe_for_client`, `history_ttl`): an option's own name, or
  // a Centrifugo v5/v1 key the guide names as refused.
  const bare = spans.filter((s) => /^[a-z][a-z0-9]*(_[a-z0-9]+)+$/.test(s));
  assert.ok(bare.length >= 5, `expected channel option names in the guide, found ${bare.length}`);
  for (const word of bare) {
    assert.ok(leafNames.has(word) || LEGACY_KEYS[word] !== undefined, `\`${word}\` is neither an option name in the schema nor a legacy key`);
  }
});

test('troubleshooting - every env var in backticks is an option\'s', () => {
  const envs = new Set(options.map((o) => documentedEnvName(o)).filter((e): e is string => e !== undefined));
  const found = spans.map((s) => /^(CENTRIFUGO|ROTOR)_([A-Z0-9_]+)(=.*)?$/.exec(s)).filter((m) => m !== null);
  assert.ok(found.length >= 2, 'expected the guide to name env vars');
  // ROTOR_X is accepted wherever CENTRIFUGO_X is (src/config/env.ts).
  for (const m of found) assert.ok(envs.has(`CENTRIFUGO_${m[2]}`), `\`${m[0]}\`: no option has the env var CENTRIFUGO_${m[2]}`);
});

function sourceText(): string {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts')) out.push(readFileSync(p, 'utf8'));
    }
  };
  walk(join(root, 'src'));
  // `users\' credentials` in a literal is `users' credentials` on the wire.
  return out.join('\n').replace(/\\(['"`])/g, '$1');
}

test('troubleshooting - texts quoted as exact occur in src/', () => {
  const src = sourceText();
  const quoted = spans.filter((s) => s.length > 2 && s.startsWith('"') && s.endsWith('"')).map((s) => s.slice(1, -1));
  assert.ok(quoted.length >= 20, `expected log lines and bodies quoted as \`"…"\`, found ${quoted.length}`);
  for (const text of quoted) {
    // `…` is a part the code fills in: each fixed piece must be in the source as written.
    for (const raw of text.split('…')) {
      const piece = raw.trim().replace(/^[\s:;,.()]+|[\s:;,.()]+$/g, '');
      if (piece.length < 4) continue;
      assert.ok(src.includes(piece), `"${text}": the text ${JSON.stringify(piece)} is not in src/`);
    }
  }
});

test('troubleshooting - an HTTP status given with an API answer text matches src/api/statuses.ts', () => {
  const byText = new Map<string, number>(Object.values(ApiStatus).filter((s) => s.text !== '').map((s) => [s.text, s.status]));
  let checked = 0;
  for (const [, status, text] of prose.matchAll(/\b([1-5]\d\d) `"([^"`]+)"`/g)) {
    const want = byText.get(text!);
    if (want === undefined) continue;
    checked++;
    assert.equal(Number(status), want, `the API answers "${text}" with ${want}, the guide says ${status}`);
  }
  assert.ok(checked >= 4, `expected the guide's API section to pair statuses with their texts, found ${checked}`);
});

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const text = markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

test('troubleshooting - links reach existing docs and headings, errors.md and config.md included', () => {
  const targets = [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/.test(t));
  for (const t of targets) {
    const [file, anchor] = t.split('#') as [string, string | undefined];
    const path = file === '' ? join(docsDir, 'troubleshooting.md') : join(docsDir, file);
    assert.ok(existsSync(path), `link ${t}: no file docs/${file}`);
    if (anchor !== undefined) assert.ok(anchorsOf(readFileSync(path, 'utf8')).has(anchor), `link ${t}: no heading with that anchor`);
  }
  const files = new Set(targets.map((t) => t.split('#')[0]));
  for (const needed of ['errors.md', 'config.md', 'deploying.md', 'proxies.md']) assert.ok(files.has(needed), `the guide should link ${needed}`);
});
