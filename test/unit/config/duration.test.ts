import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatGoDuration, parseDuration } from '../../../src/config/duration.js';

test('duration - Go-style strings parse to milliseconds', () => {
  const cases: [string, number][] = [
    ['500ms', 500],
    ['25s', 25_000],
    ['1m30s', 90_000],
    ['720h', 2_592_000_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5h', 5_400_000],
    ['.5s', 500],
    ['0', 0],
    ['0s', 0],
    ['-1s', -1000],
    ['+2m', 120_000],
    ['30', 30_000],
    [' 10s ', 10_000],
  ];
  for (const [input, ms] of cases) assert.equal(parseDuration(input), ms, input);
});

test('duration - numbers are seconds', () => {
  assert.equal(parseDuration(25), 25_000);
  assert.equal(parseDuration(0.25), 250);
  assert.equal(parseDuration(-1), -1000);
});

test('duration - bad strings are rejected with the accepted syntax in the message', () => {
  for (const bad of ['', 's', '5d', '10 s', '1h-5m', '1us', 'abc', '1.2.3s']) {
    assert.throws(() => parseDuration(bad), /invalid duration .*"500ms", "25s"/, bad);
  }
  assert.throws(() => parseDuration(Number.NaN), /invalid duration/);
});

test('duration - compact formatting round-trips', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [500, '500ms'],
    [1000, '1s'],
    [25_000, '25s'],
    [90_000, '1m30s'],
    [2_592_000_000, '720h'],
    [3_723_004, '1h2m3s4ms'],
    [-1000, '-1s'],
  ];
  for (const [ms, text] of cases) {
    assert.equal(formatDuration(ms), text);
    assert.equal(parseDuration(text), ms);
  }
});

test('duration - Go String() style for the CLI', () => {
  assert.equal(formatGoDuration(604_800_000), '168h0m0s');
  assert.equal(formatGoDuration(90_000), '1m30s');
  assert.equal(formatGoDuration(25_000), '25s');
  assert.equal(formatGoDuration(1500), '1.5s');
  assert.equal(formatGoDuration(500), '500ms');
  assert.equal(formatGoDuration(0), '0s');
});
