// The cost of config regexes on the connect path (issue #15): re2js (linear time, RE2 semantics,
// what Rotor uses) against JavaScript's backtracking RegExp, on a typical issuer and on the
// hostile one that stalled the server. Reads the compiled dist/ (`npm run build` first).
//   npm run bench:regex
import { goRegExp } from '../dist/util/go-regexp.js';

const SOURCE = '^https://([a-z0-9]+\\.?)+\\.example\\.com$';
const TYPICAL = 'https://auth.example.com';
const hostile = (n) => `https://${'a'.repeat(n)}.example.comX`;

function perCall(name, fn, n) {
  for (let i = 0; i < 10_000; i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const us = Number(process.hrtime.bigint() - start) / n / 1000;
  console.log(`${name.padEnd(44)} ${us.toFixed(2)} µs/call`);
}

const re2 = goRegExp(SOURCE);
const js = new RegExp(SOURCE);
perCall('RegExp, typical issuer', () => js.test(TYPICAL), 200_000);
perCall('re2js, typical issuer', () => re2.test(TYPICAL), 200_000);
perCall('re2js, hostile issuer (28 a)', () => re2.test(hostile(28)), 20_000);
perCall('re2js, hostile issuer (10,000 a)', () => re2.test(hostile(10_000)), 200);
for (const n of [18, 20, 22]) {
  const start = process.hrtime.bigint();
  js.test(hostile(n));
  console.log(`${`RegExp, hostile issuer (${n} a), once`.padEnd(44)} ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1)} ms (about twofold per added a)`);
}
