/** Every fuzz property, grouped as the test files run them; `npm run fuzz` runs them all. */
import { apiProperties } from './api.js';
import type { FuzzProperty } from './harness.js';
import { protocolProperties } from './protocol.js';
import { v1Properties } from './v1.js';
import { rawJsonProperties } from './raw-json.js';
import { transportProperties } from './transport.js';

export const ALL_PROPERTIES: readonly FuzzProperty[] = [...protocolProperties, ...v1Properties, ...rawJsonProperties, ...apiProperties, ...transportProperties];
