/**
 * Channels Rotor uses for itself between nodes (v1's admin watch feed). Clients can neither
 * subscribe, publish, nor read presence or history there, whatever the namespace boundary and
 * private prefix are configured to be; the server API and the node itself can.
 */
export const INTERNAL_CHANNEL_PREFIX = '__rotor.';

export function isInternalChannel(channel: string): boolean {
  return channel.startsWith(INTERNAL_CHANNEL_PREFIX);
}
