/**
 * Retry delays: exponential from `minMs`, doubling per attempt up to `maxMs`, with "equal
 * jitter": half of the step is fixed, the other half random. The fixed half keeps a retry from
 * coming back at once; the random half spreads the retries of many nodes that failed together
 * (a backend restart) instead of bringing them back in lockstep.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(0, attempt - 1), 30));
  return Math.round(step / 2 + random() * (step / 2));
}
