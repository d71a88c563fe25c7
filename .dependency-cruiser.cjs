// Import rules of STYLE.md §3.2, checked by `npm run lint:deps` (part of `npm test`).
// Layers from bottom to top: util < protocol < engine/types < engine impls < node, auth, config
// < rules < proxy, transport, api < http, admin, metrics < app < cli.
const from = (path) => ({ path: `^src/${path}` });
const forbid = (name, fromPath, toPaths, comment) => ({
  name,
  comment,
  severity: 'error',
  from: from(fromPath),
  to: { path: toPaths.map((p) => `^src/${p}`) },
});

// The one set of modules allowed to import each other in a circle (type-only imports count):
// the node and the sessions it holds, each referring to the other. Node, Hub, the tick and the
// user operations hold sessions; a session reaches back to its node (hooks, hub, the engine's
// door); the session's handlers act on the session it dispatches to them; a subscription refers
// to its session, which holds its subscriptions. docs/architecture.md ("Sessions and the node")
// says why an interface here would only hide these references. A cycle is exempt only when every
// module in it is listed, so no other module (the leaves under node/, the control plane) can join one.
const SESSION_NODE_CIRCLE = [
  '^src/node/(node|hub|tick|user-ops)\\.ts$',
  '^src/node/client/(session|intake|connect|commands|subscribe|subscription|deliver|stream-delivery|expiry|v1)\\.ts$',
].join('|');

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'Import cycles hide layering mistakes.', from: { path: '^src/' }, to: { circular: true, via: { pathNot: SESSION_NODE_CIRCLE } } },
    forbid('util-is-a-leaf', 'util/', ['protocol', 'engine', 'node', 'auth', 'config', 'rules', 'transport', 'api', 'http', 'admin', 'metrics', 'app', 'cli'], 'util imports nothing else in src (Node built-ins and small leaf libraries such as re2js).'),
    forbid('protocol-is-a-leaf', 'protocol/', ['engine', 'node', 'auth', 'config', 'rules', 'transport', 'api', 'http', 'admin', 'metrics', 'app', 'cli'], 'protocol knows nothing else in src.'),
    forbid('engine-types-only-below', 'engine/types', ['engine/memory', 'engine/redis', 'node', 'transport', 'config', 'rules', 'api', 'app'], 'engine/types holds interfaces only.'),
    forbid('engines-below-node', 'engine/(memory|redis|nats)/', ['node', 'transport', 'config', 'rules', 'api', 'http', 'app', 'auth'], 'engines never see sessions, sockets or config.'),
    forbid('node-is-policy-free', 'node/', ['engine/memory', 'engine/redis', 'engine/nats', 'transport', 'api', 'rules', 'proxy', 'auth', 'config', 'metrics', 'http', 'app', 'cli'], 'node gets engines and policy injected.'),
    { name: 'node-no-io-libs', severity: 'error', comment: 'the core never touches sockets or the Redis client.', from: from('node/'), to: { path: ['node_modules/ws/', 'node_modules/redis', 'node_modules/@redis/', 'node_modules/ioredis/', 'node_modules/@nats-io/', 'node_modules/prom-client/'], dependencyTypesNot: ['type-only'] } },
    forbid('auth-is-a-leaf-service', 'auth/', ['node', 'transport', 'config', 'rules', 'api', 'engine', 'app'], 'auth verifies tokens and nothing else.'),
    forbid('config-is-pure-data', 'config/', ['protocol', 'engine', 'node', 'auth', 'rules', 'transport', 'api', 'http', 'app', 'cli'], 'config loads and validates; modules get option objects from app.'),
    forbid('rules-no-io', 'rules/', ['transport', 'engine/memory', 'engine/redis', 'proxy', 'config', 'api', 'http', 'app', 'cli'], 'rules is policy over node hooks.'),
    forbid('notify-sends-only', 'notify/', ['engine', 'node', 'transport', 'api', 'rules', 'proxy', 'config', 'http', 'app', 'cli'], 'notify queues and sends events it is handed; app wires it to the node.'),
    forbid('proxy-over-rules', 'proxy/', ['engine', 'transport', 'api', 'config', 'http', 'app', 'cli'], 'proxies are policy over node hooks, layered on rules; app gives them option objects.'),
    forbid('transport-above-node', 'transport/', ['engine', 'rules', 'api', 'config', 'app', 'cli'], 'transports adapt I/O to sessions.'),
    forbid('api-above-node', 'api/', ['transport', 'engine/memory', 'engine/redis', 'config', 'app', 'cli'], 'the API calls node operations.'),
    forbid('http-mounts-only', 'http/', ['protocol', 'engine', 'node', 'auth', 'config', 'rules', 'transport', 'api', 'app', 'cli'], 'http only mounts handlers it is given.'),
    // Engine implementations are chosen and built by app/ alone; everything else sees the
    // interfaces in engine/types, and reaches the broker and presence manager only through Node
    // methods (Node holds them in private fields, so the type checker enforces that part).
    forbid('engine-impls-only-in-app', '(?!app/|engine/)', ['engine/(?!types)'], 'only app/ builds engines; others use node methods.'),
    // The broker's methods are used only in node/: Node holds the broker and presence manager in
    // private fields (the type checker keeps everyone else out), and this rule keeps the engine's
    // interfaces themselves to engine/, node/ and app/, so no other layer can even name a Broker
    // to be handed one. api/ and rules/ take the few engine types they need (ClientInfo,
    // PublishOptions, ...) from node/events.ts.
    forbid('engine-types-only-in-node', '(?!engine/|node/|app/)', ['engine/types'], 'only engine/, node/ and app/ see the engine interfaces.'),
    forbid('app-only-from-cli', '(?!app/|cli/|index\\.ts)', ['app'], 'only cli and index import the composition root.'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
    moduleSystems: ['es6'],
  },
};
