import { describe, it } from 'node:test';
import { assertProperty } from './properties/harness.js';
import { apiProperties } from './properties/api.js';

describe('fuzz: server API request decoding (fixed seed)', () => {
  for (const p of apiProperties) it(p.name, () => assertProperty(p));
});
