/**
 * ConfigError: the one error type of config loading. Its message names the key path and the
 * reason, so a failed start tells the operator exactly what to fix.
 */
import type { z } from 'zod';
import { describeValue } from './schema/define.js';

export interface ConfigIssue {
  /** Dotted key path with list indices: `channel.namespaces[1].history_ttl`. Empty for file-level problems. */
  readonly path: string;
  readonly message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(message: string, issues: readonly ConfigIssue[] = [], options?: ErrorOptions) {
    super(message, options);
    this.issues = issues;
  }

  /** `invalid config: <path>: <why>; <path>: <why>` */
  static fromIssues(issues: readonly ConfigIssue[]): ConfigError {
    const parts = issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`));
    return new ConfigError(`invalid config: ${parts.join('; ')}`, issues);
  }
}

/** `['channel', 'namespaces', 1, 'name']` ⇒ `channel.namespaces[1].name` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

const TYPE_NAMES: Record<string, string> = { int: 'integer', record: 'object' };

/** Turns a zod issue into our wording: `expected number, got "abc"`. */
export function describeZodIssue(issue: z.core.$ZodIssue): string {
  const got = 'input' in issue ? describeValue(issue.input) : 'nothing';
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${got}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}`;
    case 'too_small':
      return `must be ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}, got ${got}`;
    case 'too_big':
      return `must be ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}, got ${got}`;
    case 'invalid_format':
      return issue.format === 'regex' && issue.pattern !== undefined
        ? `must match ${issue.pattern}, got ${got}`
        : `invalid ${issue.format}, got ${got}`;
    default:
      return issue.message;
  }
}
