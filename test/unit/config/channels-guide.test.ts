import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config/index.js';
import { checkEngineOptions } from '../../../src/app/engine.js';

// Every ```yaml / ```json block of docs/channels.md is a whole config file, checked the way
// `rotor checkconfig --strict -c <file>` checks one: loadConfig on the file, then the engine
// options. A block right after `<!-- invalid: <key path> -->` must fail, naming that key.

const guide = readFileSync(new URL('../../../docs/channels.md', import.meta.url), 'utf8');

interface Example {
  readonly format: 'yaml' | 'json';
  readonly text: string;
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
  /** Key path the validation error must name; undefined for a valid example. */
  readonly invalidKey: string | undefined;
}

const INVALID_MARK = /^<!--\s*invalid(?::\s*(\S+))?\s*-->$/;

function configExamples(md: string): Example[] {
  const lines = md.split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```\s*(\S*)/.exec(lines[i]!);
    if (open === null) continue;
    const lang = open[1]!.toLowerCase();
    let end = i + 1;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    assert.ok(end < lines.length, `docs/channels.md:${i + 1}: fence is never closed`);
    if (lang === 'yaml' || lang === 'yml' || lang === 'json') {
      let prev = i - 1;
      while (prev >= 0 && lines[prev]!.trim() === '') prev--;
      const mark = prev >= 0 ? INVALID_MARK.exec(lines[prev]!.trim()) : null;
      if (mark !== null) assert.ok(mark[1] !== undefined, `docs/channels.md:${prev + 1}: write the key the error names, as <!-- invalid: channel.namespaces[0].history_size -->`);
      out.push({ format: lang === 'json' ? 'json' : 'yaml', text: lines.slice(i + 1, end).join('\n') + '\n', line: i + 1, invalidKey: mark?.[1] });
    }
    i = end;
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'rotor-channels-guide-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function exampleFile(ex: Example): string {
  const file = join(dir, `line-${ex.line}.${ex.format}`);
  writeFileSync(file, ex.text);
  return file;
}

/** The ConfigError loading the example throws; fails when it loads. */
function loadError(file: string): ConfigError {
  try {
    loadConfig({ file });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail(`${file} loaded, but it is marked invalid`);
}

const examples = configExamples(guide);

test('channels guide - has valid and invalid config examples in YAML and JSON', () => {
  assert.ok(examples.length >= 5, `only ${examples.length} config examples found`);
  assert.ok(examples.some((e) => e.format === 'yaml'));
  assert.ok(examples.some((e) => e.format === 'json'));
  assert.ok(examples.some((e) => e.invalidKey === undefined));
  assert.ok(examples.some((e) => e.invalidKey !== undefined));
});

for (const ex of examples) {
  if (ex.invalidKey === undefined) {
    test(`channels guide - the ${ex.format} example at line ${ex.line} passes checkconfig --strict, without warnings`, async () => {
      const { config, warnings, unknownKeys } = loadConfig({ file: exampleFile(ex) });
      assert.deepEqual(unknownKeys, []);
      assert.deepEqual(warnings, []);
      await checkEngineOptions(config);
    });
  } else {
    const key = ex.invalidKey;
    test(`channels guide - the ${ex.format} example at line ${ex.line} fails, naming ${key}`, () => {
      const err = loadError(exampleFile(ex));
      assert.ok(err.message.includes(`${key}: `), `the message does not name ${key}: ${err.message}`);
      assert.ok(err.issues.some((i) => i.path === key), `no issue at ${key}: ${JSON.stringify(err.issues)}`);
    });
  }
}

test('channels guide - the error lines it quotes are what the invalid examples print', () => {
  const quoted = guide.split('\n').filter((l) => l.startsWith('error: invalid config: '));
  assert.ok(quoted.length > 0, 'no quoted error line');
  // `rotor checkconfig` prints `error: <message>` (cli/common.ts reportError).
  const printed = examples.filter((e) => e.invalidKey !== undefined).map((e) => `error: ${loadError(exampleFile(e)).message}`);
  for (const line of quoted) assert.ok(printed.includes(line), `no invalid example prints:\n  ${line}\nthey print:\n  ${printed.join('\n  ')}`);
});
