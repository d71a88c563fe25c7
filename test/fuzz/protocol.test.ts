import { describe, it } from 'node:test';
import { assertProperty } from './properties/harness.js';
import { protocolProperties } from './properties/protocol.js';

describe('fuzz: client command decoders (fixed seed)', () => {
  for (const p of protocolProperties) it(p.name, () => assertProperty(p));
});
