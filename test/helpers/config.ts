/** Config validation as the tests read it. */
import assert from 'node:assert/strict';
import { ConfigError, validateConfig } from '../../src/config/index.js';

/** The issues a raw config produces, as `path: message` strings ([] when valid). */
export function configProblems(raw: Record<string, unknown>): string[] {
  try {
    validateConfig(raw);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
}
