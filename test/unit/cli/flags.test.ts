import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addConfigFlags, flagOptions, givenFlags } from '../../../src/cli/flags.js';
import { buildProgram } from '../../../src/cli/program.js';

const CENTRIFUGO_FLAGS = [
  'http_server.address', 'http_server.port', 'http_server.internal_address', 'http_server.internal_port', 'engine.type',
  'broker.enabled', 'broker.type', 'presence_manager.enabled', 'presence_manager.type', 'log.level', 'log.file', 'debug.enabled',
  'admin.enabled', 'admin.external', 'admin.insecure', 'prometheus.enabled', 'swagger.enabled', 'health.enabled',
  'uni_websocket.enabled', 'uni_sse.enabled', 'uni_http_stream.enabled', 'sse.enabled', 'http_stream.enabled', 'init.enabled',
  'client.insecure', 'http_api.insecure', 'http_api.external', 'grpc_api.enabled', 'grpc_api.port', 'uni_grpc.enabled',
  'uni_grpc.port', 'pid_file',
];

function parse(args: string[]): Record<string, unknown> {
  const cmd = addConfigFlags(new Command().exitOverride());
  cmd.parse(args, { from: 'user' });
  return givenFlags(cmd);
}

test('flags - the root command exposes the Centrifugo v6 flags, derived from the schema', () => {
  assert.deepEqual(flagOptions().map((o) => o.path).sort(), [...CENTRIFUGO_FLAGS].sort());
  const root = buildProgram();
  const longs = root.options.map((o) => o.long);
  for (const path of CENTRIFUGO_FLAGS) assert.ok(longs.includes(`--${path}`), path);
  assert.equal(root.options.find((o) => o.long === '--http_server.port')?.short, '-p');
  assert.equal(root.options.find((o) => o.long === '--http_server.address')?.short, '-a');
  assert.equal(root.options.find((o) => o.long === '--config')?.short, '-c');
});

test('flags - only given flags are returned, typed like env values', () => {
  assert.deepEqual(parse([]), {});
  assert.deepEqual(parse(['-p', '9000', '--admin.enabled', '--log.level', 'debug', '--client.insecure=false', '-a', '127.0.0.1']), {
    'http_server.port': 9000,
    'admin.enabled': true,
    'log.level': 'debug',
    'client.insecure': false,
    'http_server.address': '127.0.0.1',
  });
  assert.deepEqual(parse(['--http_server.internal_port', '9001']), { 'http_server.internal_port': '9001' });
  assert.deepEqual(parse(['-p', 'abc']), { 'http_server.port': 'abc' }, 'left for validation to report with the key');
});
