/** An error's message for a log line or an error of our own; anything else thrown, as text. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
