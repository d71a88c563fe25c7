/**
 * Markdown reference of every option, generated from the schema. docs/config.md is this
 * output; test/unit/config/docs.test.ts fails when the file and the schema disagree.
 */
import { configOptions, documentedEnvName, type OptionInfo } from './describe.js';

export const REGENERATE_COMMAND = 'npm run docs';

const INTRO = `# Rotor configuration reference

<!-- Generated from src/config/schema/*.ts by \`rotor configdoc --markdown\`; do not edit by hand.
     Regenerate with: ${REGENERATE_COMMAND} -->

Rotor reads the Centrifugo v6 configuration layout. Sources, lowest priority first:

1. defaults (the tables below);
2. the config file (\`-c/--config\`, default \`config.json\`; JSON, YAML or TOML by extension; a
   missing default file is fine, a missing file given with \`-c\` is an error);
3. environment variables: \`CENTRIFUGO_\` + the upper-cased key with \`.\` replaced by \`_\`
   (\`CENTRIFUGO_HTTP_SERVER_PORT\`). The same names with the prefix \`ROTOR_\` are also read and win
   over \`CENTRIFUGO_\`. Empty values are ignored. Booleans: \`true\`/\`false\`/\`1\`/\`0\`; string lists:
   space-separated; lists of objects and maps: JSON. Named lists (\`channel.namespaces\`,
   \`rpc.namespaces\`, \`proxies\`, \`consumers\`) also take space-separated item names
   (\`CENTRIFUGO_CHANNEL_NAMESPACES="chat news"\`), and their items can be changed one option at
   a time, e.g. \`CENTRIFUGO_CHANNEL_NAMESPACES_<NAME>_PRESENCE=true\` (\`<NAME>\` is the item name upper
   cased, \`.\` and \`-\` replaced by \`_\`; the item must exist in the file or the list's own variable);
4. command-line flags of the root command (\`rotor --help\`).

Durations are written as Go-style strings (\`"500ms"\`, \`"25s"\`, \`"1m30s"\`, \`"720h"\`) or as a number
of seconds. Scalars are read weakly typed, as Centrifugo's config decoder does: numeric strings
for numbers (\`port: "8000"\`), Go ParseBool strings for booleans (\`"true"\`, \`"1"\`, \`"F"\`),
numbers and booleans (as \`"1"\`/\`"0"\`) for strings, and a key with no value (\`null\`) means unset.
Unknown keys and unknown \`CENTRIFUGO_*\` variables are reported as warnings with the
nearest valid name; invalid values stop the server with an error naming the key, and so do
Centrifugo v1/v5 keys (see below).
On SIGHUP the configuration is read again; token settings and channel/RPC options are applied
without a restart.

Run \`rotor defaultconfig --dry-run\` for a full config file with every default and \`rotor defaultenv\`
for the same as environment variables.

## Migrating from Centrifugo v5 or v1 configs

Centrifugo v1 to v5 used flat keys (\`"token_hmac_secret_key"\`, \`"admin": true\`, \`"api_key"\`,
top-level \`"namespaces"\`, \`"presence"\`, \`"history_size"\`, v1's \`"secret"\`); v6 and Rotor use the
nested layout above. \`rotor config migrate -c old.json\` prints the v6 form of either (\`-o new.yaml\`
writes a new file, its extension or \`--format\` picking JSON, YAML or TOML), with what changed on
the way and the keys v6 has no place for on stderr:

- every flat key goes to its v6 place; v1's seconds become durations (\`"history_lifetime": 30\` ⇒
  \`"history_ttl": "30s"\`), v1's string numbers numbers (\`"port": "8000"\`), \`redis_host\` and
  \`redis_port\` one address, comma lists lists;
- top-level channel options (\`presence\`, \`history_size\`, ...) go to \`channel.without_namespace\`,
  and v1 option names are renamed inside namespaces (\`publish\` ⇒ \`allow_publish_for_subscriber\`,
  \`anonymous\` ⇒ \`allow_subscribe_for_anonymous\`, \`recover\` ⇒ \`force_recovery\`);
- what v1 allowed without an option is made explicit: \`allow_subscribe_for_client\` everywhere,
  presence and history for subscribers (and for anonymous clients with \`anonymous\`) where they
  are on; v1's \`secret\` also becomes \`http_api.key\`, as v1 signed API requests with it;
- v5's shared proxy options (\`proxy_http_headers\`, ...) are copied into each proxy object, and
  a proxy endpoint switches its proxy on.

**A v1 file starts Rotor as it is**: it is read through that v6 form, and the log says so and names
each key left out (\`watch\`, \`connection_lifetime\`, SockJS and Go runtime settings); v1's
\`redis_api\` becomes \`redis_api_queue\` (docs/api-v1.md). **A v5 file is refused** (Centrifugo v6 ignores flat keys, which would start a server
without a token key, refusing every client with 3500): \`rotor checkconfig\` exits 1 and the server
does not start, naming every key and its v6 place:

\`\`\`
error: invalid config: Centrifugo v1/v5 keys; Rotor reads the Centrifugo v6 layout, where they have other places (...):
  token_hmac_secret_key is a Centrifugo v5 key; in v6 it is client.token.hmac_secret_key
  namespaces is a Centrifugo v1 and v5 key; in v6 it is channel.namespaces
\`\`\`

Centrifugo v1's command-line flags work too (hidden from \`--help\`; \`src/cli/v1-flags.ts\`):
\`--address\`, \`--port\`, \`--admin\`, \`-w/--web\`, \`--web_path\`, \`--admin_port\`, \`--api_port\`,
\`-d/--debug\`, \`-e/--engine\`, \`--insecure\`, \`--insecure_admin\`, \`--insecure_api\`, \`--log_file\`,
\`--log_level\`, \`-n/--name\`, the \`--redis_*\` connection flags and \`--ssl\`, \`--ssl_cert\`, \`--ssl_key\`;
\`--redis_api\` and \`--redis_api_num_shards\`; \`--redis_pool\` is ignored with a warning.

A file mixing v1-only and v5-only keys is refused the same way. The environment variables of v1
to v5 (\`CENTRIFUGO_TOKEN_HMAC_SECRET_KEY\`) are renamed like the keys
(\`CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY\`); the old names are reported as unknown variables.
`;

function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function typeName(o: OptionInfo): string {
  switch (o.meta.kind) {
    case 'enum':
      return (o.meta.values ?? []).map((v) => code(JSON.stringify(v))).join(' \\| ');
    case 'list':
      return 'object[]';
    case 'map':
      return 'map[string]string';
    case 'json':
      return 'object (free-form)';
    case 'duration':
      return o.meta.disableable === true ? 'duration (-1 = off)' : 'duration';
    default:
      return o.meta.kind;
  }
}

function defaultText(o: OptionInfo): string {
  const d = o.meta.default;
  if (o.meta.kind === 'object') return '';
  if (o.list !== undefined && o.itemPath === o.list.itemKey) return '';
  if (d === undefined) return '';
  if (typeof d === 'string') return o.meta.kind === 'duration' ? code(d) : code(JSON.stringify(d));
  return code(JSON.stringify(d));
}

function row(o: OptionInfo): string {
  const env = documentedEnvName(o);
  const cells = [code(o.path), typeName(o), defaultText(o), env === undefined ? '' : code(env), cell(o.meta.doc)];
  return `| ${cells.join(' | ')} |`;
}

/** The whole reference as Markdown (stable output: no dates, schema order). */
export function configMarkdown(): string {
  const options = configOptions();
  const sections = new Map<string, OptionInfo[]>();
  const topLevel: OptionInfo[] = [];
  for (const o of options) {
    const [section] = o.path.split(/[.[]/);
    if (section === undefined) continue;
    if (o.path === section && o.meta.kind !== 'object' && o.meta.kind !== 'list') {
      topLevel.push(o);
      continue;
    }
    const rows = sections.get(section) ?? [];
    rows.push(o);
    sections.set(section, rows);
  }
  const out: string[] = [INTRO, '## Sections', ''];
  for (const name of sections.keys()) out.push(`- [\`${name}\`](#${name})`);
  if (topLevel.length > 0) out.push('- [Top-level options](#top-level-options)');
  out.push('');
  const header = ['| Key | Type | Default | Env | Description |', '| --- | --- | --- | --- | --- |'];
  for (const [name, rows] of sections) {
    const head = rows[0];
    out.push(`## ${name}`, '');
    if (head !== undefined && head.path === name) out.push(head.meta.doc, '');
    out.push(...header, ...rows.filter((r) => r.path !== name || r.meta.kind === 'list').map(row), '');
  }
  if (topLevel.length > 0) out.push('## Top-level options', '', ...header, ...topLevel.map(row), '');
  return out.join('\n');
}
