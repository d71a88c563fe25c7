/**
 * The shape shared by every fuzz property: a name, a run count small enough for `npm test`, and a
 * `check` that runs it under fast-check with given parameters and returns fast-check's report.
 * The test files run each property once with the fixed seed; `npm run fuzz` runs the same
 * properties with random seeds for minutes.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';

/** Seed of the `npm test` runs: fixed, so the suite checks the same inputs every time. */
export const FUZZ_SEED = 0x5eed_f00d;

/**
 * Largest input the size properties build, bytes: every client-facing decoder is capped at 64 KiB
 * by default (`websocket.message_size_limit`, the transports' `max_request_body_size`).
 */
export const MAX_INPUT_BYTES = 64 * 1024;

/**
 * Per-input bound on decoding one input of up to `MAX_INPUT_BYTES`, in ms of this process's CPU
 * time (not wall time: other processes on a busy machine do not count). Linear decoders take well
 * under a millisecond for 64 KiB; the bound is three orders of magnitude above that, while a
 * quadratic path (about 4·10⁹ steps at 64 KiB) still trips it.
 */
export const DECODE_BOUND_MS = 1000;

export interface FuzzParams {
  seed: number;
  numRuns: number;
  /** Replay path printed with a failure (fast-check's `path`), to rerun only the failing case. */
  path?: string;
}

export interface FuzzResult {
  failed: boolean;
  /** Seed and replay path of the failing case (with the shrunk counterexample's path). */
  seed: number;
  path?: string;
  /** fast-check's report: seed, path, shrunk counterexample and the error. Empty on success. */
  report: string;
}

export interface FuzzProperty {
  readonly name: string;
  /** Runs in `npm test` (fixed seed); `npm run fuzz` runs many more per round. */
  readonly runs: number;
  check(params: FuzzParams): Promise<FuzzResult>;
}

/** A property built afresh for every check (so no state leaks between runs of the fuzz loop). */
export function defineProperty<Ts>(name: string, runs: number, build: () => fc.IRawProperty<Ts>): FuzzProperty {
  return {
    name,
    runs,
    check: (params) => runChecked(build(), params),
  };
}

/**
 * A property that needs a resource (a server) for the length of one check: `setup` makes it and
 * returns the property and a `dispose` that is always called.
 */
export function defineResourceProperty<Ts>(
  name: string,
  runs: number,
  setup: () => Promise<{ property: fc.IRawProperty<Ts>; dispose(): Promise<void> }>,
): FuzzProperty {
  return {
    name,
    runs,
    async check(params) {
      const { property, dispose } = await setup();
      try {
        return await runChecked(property, params);
      } finally {
        await dispose();
      }
    },
  };
}

async function runChecked<Ts>(property: fc.IRawProperty<Ts>, params: FuzzParams): Promise<FuzzResult> {
  const details = await fc.check(property, { seed: params.seed, numRuns: params.numRuns, path: params.path, endOnFailure: false, includeErrorInReport: true });
  if (!details.failed) return { failed: false, seed: details.seed, report: '' };
  const path = details.counterexamplePath ?? undefined;
  return { failed: true, seed: details.seed, path, report: fc.defaultReportMessage(details) ?? `failed (seed ${details.seed}, path ${path ?? '?'})` };
}

/** Runs a property in a node:test body with the fixed seed; fails with fast-check's report. */
export async function assertProperty(p: FuzzProperty): Promise<void> {
  const r = await p.check({ seed: FUZZ_SEED, numRuns: p.runs });
  assert.ok(!r.failed, `${p.name}\n${r.report}`);
}

// ---------------------------------------------------------------- predicates

/** A class of error a decoder documents that it throws. */
export type ErrorClass = abstract new (...args: never[]) => Error;

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/**
 * Runs `fn` and returns its value or the error it threw, when that error is one of `allowed`.
 * Anything else thrown (a TypeError, a RangeError from the stack, a non-Error) fails the
 * property with the stray error's stack in the message.
 */
export function onlyThrows<T>(allowed: readonly ErrorClass[], fn: () => T): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof Error && allowed.some((c) => e instanceof c)) return { ok: false, error: e };
    const detail = e instanceof Error ? (e.stack ?? String(e)) : `non-Error thrown: ${String(e)}`;
    throw new assert.AssertionError({ message: `threw an undocumented error (allowed: ${allowed.map((c) => c.name).join(', ')}): ${detail}` });
  }
}

/** `onlyThrows` plus the per-input time bound; `size` is the input's length in bytes. */
export function boundedOnlyThrows<T>(allowed: readonly ErrorClass[], size: number, fn: () => T): Outcome<T> {
  assert.ok(size <= MAX_INPUT_BYTES, `generated input of ${size} bytes exceeds ${MAX_INPUT_BYTES}`);
  const start = process.cpuUsage();
  const out = onlyThrows(allowed, fn);
  const used = process.cpuUsage(start);
  const ms = (used.user + used.system) / 1000;
  assert.ok(ms < DECODE_BOUND_MS, `decoding ${size} bytes took ${ms.toFixed(0)} ms of CPU (bound ${DECODE_BOUND_MS} ms)`);
  return out;
}
