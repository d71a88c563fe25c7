/** Label values with bounded cardinality (metrics/labels.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NamespaceLabels, clientNameLabel, clientVersionLabel } from '../../../src/metrics/labels.js';

test('labels - client names: official SDKs by name, unnamed, everything else unregistered', () => {
  assert.deepEqual(['js', 'go', '', 'my-app', 'JS', 'x'.repeat(1000)].map(clientNameLabel), ['js', 'go', 'unnamed', 'unregistered', 'unregistered', 'unregistered']);
});

test('labels - client versions: x.y.z of an official SDK, unversioned, else unregistered', () => {
  assert.deepEqual(
    [
      ['js', '5.2.0'],
      ['js', ''],
      ['js', '5.2.0-beta'],
      ['js', '1.2.3.4'],
      ['my-app', '1.0.0'],
      ['', '1.0.0'],
    ].map(([n, v]) => clientVersionLabel(n!, v!)),
    ['5.2.0', 'unversioned', 'unregistered', 'unregistered', 'unregistered', 'unregistered'],
  );
});

test('labels - namespaces: configured ones only, after the private prefix, else empty', () => {
  const ns = new NamespaceLabels(['chat', 'news'], ':', '$');
  assert.deepEqual(
    ['chat:room', '$chat:secret', 'news:a:b', 'other:x', 'plain', ':x', '$:x', 'chat', ''].map((c) => ns.of(c)),
    ['chat', 'chat', 'news', '', '', '', '', '', ''],
  );
  assert.equal(new NamespaceLabels([], ':', '$').of('chat:room'), '', 'no namespaces configured');
  assert.equal(new NamespaceLabels(['chat'], '', '$').of('chat:room'), '', 'no boundary');
});
