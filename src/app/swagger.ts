/**
 * Swagger UI for the server API (`swagger.enabled`, under `swagger.handler_prefix`, default
 * `/swagger`): the `swagger-ui-dist` package's files, served by Rotor (no CDN), a page of ours
 * that loads them, and `openapi.json`, generated from the method table (api/openapi.ts). "Try it
 * out" calls the API from the browser with the key entered under "Authorize".
 *
 * The page runs no inline script (its initializer is a file of ours) and is sent with a Content
 * Security Policy that allows only this origin's scripts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { HttpListener } from '../http/server.js';
import { openApiDocument } from '../api/openapi.js';

/** Files of swagger-ui-dist the page uses, and their types. */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rotor server API</title>
<link rel="stylesheet" href="swagger-ui.css">
<link rel="icon" type="image/png" href="favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="swagger-ui-bundle.js"></script>
<script src="rotor-swagger.js"></script>
</body>
</html>
`;

const INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#swagger-ui', deepLinking: true, tryItOutEnabled: false });
});
`;

export function mountSwagger(listener: HttpListener, prefix: string, apiPrefix: string, version: string): void {
  const base = prefix.replace(/\/+$/, '');
  const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  // Read once, at start: a missing file is a startup error, not a broken page later.
  const assets = new Map(Object.entries(ASSETS).map(([name, type]) => [name, { type, body: readFileSync(join(dist, name)) }]));
  const spec = JSON.stringify(openApiDocument(version, apiPrefix));
  listener.route(
    base,
    (req, res, path) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
      const name = path === base ? '' : path.slice(base.length + 1);
      if (path === base) {
        // Relative asset URLs need the trailing slash.
        res.writeHead(301, { Location: `${base}/` });
        res.end();
        return;
      }
      if (name === '') return send(res, 200, 'text/html; charset=utf-8', PAGE);
      if (name === 'rotor-swagger.js') return send(res, 200, 'text/javascript; charset=utf-8', INIT);
      if (name === 'openapi.json') return send(res, 200, 'application/json', spec);
      const a = assets.get(name);
      if (a === undefined) return send(res, 404, 'text/plain', '404 page not found\n');
      send(res, 200, a.type, a.body);
    },
    true,
  );
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}
