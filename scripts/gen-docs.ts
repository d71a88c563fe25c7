// Regenerates the documents derived from code tables: docs/errors.md and docs/config.md.
// Usage: npm run docs
import { writeFileSync } from 'node:fs';
import { renderErrorsMarkdown } from '../src/protocol/codes-doc.js';
import { configMarkdown } from '../src/config/docs.js';
import { ApiStatus } from '../src/api/statuses.js';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsMarkdown(Object.values(ApiStatus)));
writeFileSync(new URL('../docs/config.md', import.meta.url), configMarkdown());
console.log('wrote docs/errors.md and docs/config.md');
