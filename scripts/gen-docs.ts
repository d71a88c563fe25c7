// Regenerates the documents derived from code tables: docs/errors.md.
// Usage: npm run docs
import { writeFileSync } from 'node:fs';
import { renderErrorsMarkdown } from '../src/protocol/codes-doc.js';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsMarkdown());
console.log('wrote docs/errors.md');
