/**
 * Config file formats: JSON, YAML and TOML, chosen by file extension. Parse errors become
 * ConfigErrors naming the file, line and column.
 */
import { extname } from 'node:path';
import * as TOML from 'smol-toml';
import YAML from 'yaml';
import { ConfigError } from './errors.js';
import { isRecord } from './schema/define.js';
import { messageOf } from '../util/message-of.js';

export type ConfigFormat = 'json' | 'yaml' | 'toml';

/** Format for a file name by extension; throws ConfigError for anything else. */
export function formatOf(file: string): ConfigFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.toml') return 'toml';
  throw new ConfigError(`unsupported config file extension "${ext}" in "${file}" (use .json, .yaml, .yml or .toml)`);
}

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${col}`;
}

/**
 * Offset of the first JSON syntax error. Node 20's JSON.parse does not always report one, so
 * this small recursive-descent scan finds it; it is only run after JSON.parse has failed.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string): void => {
    if (!text.startsWith(word, i)) fail();
    i += word.length;
  };
  const string = (): void => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if ((text.charCodeAt(i) ?? 0) < 0x20) fail();
      i++;
    }
    if (text[i] !== '"') fail();
    i++;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i));
    if (m === null) fail();
    i += m?.[0].length ?? 0;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return -1;
  } catch (offset) {
    return typeof offset === 'number' ? offset : -1;
  }
}

/** Parses file text; the top level must be an object (an empty file is an empty config). */
export function parseConfigText(text: string, format: ConfigFormat, file: string): Record<string, unknown> {
  let data: unknown;
  try {
    if (format === 'json') data = text.trim() === '' ? {} : JSON.parse(text);
    else if (format === 'yaml') data = YAML.parse(text) ?? {};
    else data = TOML.parse(text);
  } catch (err) {
    throw new ConfigError(`invalid config file "${file}": ${describeParseError(err, text, format)}`, [], { cause: err });
  }
  if (!isRecord(data)) throw new ConfigError(`invalid config file "${file}": the top level must be an object`);
  // The parsers keep `__proto__` as an ordinary key; merged into objects later (the v1/v5
  // migration), it would reach Object.prototype. No option has that name.
  const proto = protoKeyPath(data, '');
  if (proto !== undefined) throw new ConfigError(`invalid config file "${file}": key "${proto}" is not allowed`);
  return data;
}

/** The path of the first `__proto__` key in a parsed document, if any. */
function protoKeyPath(value: unknown, path: string): string | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = protoKeyPath(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  for (const key of Object.keys(value)) {
    const here = path === '' ? key : `${path}.${key}`;
    if (key === '__proto__') return here;
    const found = protoKeyPath((value as Record<string, unknown>)[key], here);
    if (found !== undefined) return found;
  }
  return undefined;
}

function describeParseError(err: unknown, text: string, format: ConfigFormat): string {
  if (format === 'json') {
    const offset = jsonErrorOffset(text);
    const reason = err instanceof Error ? err.message.replace(/ in JSON at position \d+.*$/, '') : String(err);
    return offset >= 0 ? `${reason} at ${lineCol(text, offset)}` : reason;
  }
  if (err instanceof YAML.YAMLError) {
    const firstLine = err.message.split('\n')[0] ?? err.message;
    const pos = err.linePos?.[0];
    return pos && !firstLine.includes(' at line ') ? `${firstLine} at line ${pos.line}, column ${pos.col}` : firstLine.replace(/:$/, '');
  }
  if (err instanceof TOML.TomlError) {
    const firstLine = (err.message.split('\n')[0] ?? err.message).replace(/^Invalid TOML document: /, '');
    return `${firstLine} at line ${err.line}, column ${err.column}`;
  }
  return messageOf(err);
}

/** Serializes a file-form config; JSON is indented with 2 spaces and ends with a newline. */
export function stringifyConfig(data: Record<string, unknown>, format: ConfigFormat): string {
  if (format === 'json') return `${JSON.stringify(data, null, 2)}\n`;
  if (format === 'yaml') return YAML.stringify(data);
  return `${TOML.stringify(data)}\n`;
}
