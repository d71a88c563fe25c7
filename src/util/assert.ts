/** Exhaustiveness check for discriminated-union switches: a new variant fails to compile here. */
export function assertNever(x: never): never {
  throw new Error(`unexpected variant: ${JSON.stringify(x)}`);
}
