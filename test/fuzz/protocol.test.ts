import { describe, it } from 'node:test';
import { assertProperty } from './properties/harness.js';
import { protocolProperties } from './properties/protocol.js';
import { v1Properties } from './properties/v1.js';

describe('fuzz: client command decoders (fixed seed)', () => {
  for (const p of protocolProperties) it(p.name, () => assertProperty(p));
});

describe('fuzz: Centrifugo v1 client codec (fixed seed)', () => {
  for (const p of v1Properties) it(p.name, () => assertProperty(p));
});
