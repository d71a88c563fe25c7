import { describe, it } from 'node:test';
import { assertProperty } from './properties/harness.js';
import { transportProperties } from './properties/transport.js';

describe('fuzz: /emulation and unidirectional connect bodies (fixed seed)', () => {
  for (const p of transportProperties) it(p.name, () => assertProperty(p));
});
