/**
 * Centrifugo's Redis key and PUB/SUB channel names (spec §9.3, v6 notes §4), so an operator's
 * tooling reads the same keys and history written by Centrifugo nodes reads back through Rotor.
 * `P` is the prefix (default `centrifugo`) and `CH` the channel:
 *
 * - `P.stream.CH` history stream, `P.stream.meta.CH` its meta hash (`e`, `s`, `v`, `ve`);
 * - `P.result.CH.KEY` an idempotent publish result;
 * - `P.presence.data.CH`, `P.presence.expire.CH`, `P.presence.user.clients.CH`,
 *   `P.presence.user.expire.CH` presence;
 * - `P.client.CH` the PUB/SUB channel of CH, `P.control` control to every node, `P.node.ID` control
 *   to one node.
 *
 * On a Redis Cluster the channel is written as a hash tag `{CH}`, so every key of one channel
 * sits in one slot and a Lua script may touch all of them.
 */
export class RedisKeys {
  readonly control: string;

  /** `tagged`: wrap channels in `{}` (a Redis Cluster). */
  constructor(readonly prefix: string, readonly tagged: boolean) {
    this.control = `${prefix}.control`;
  }

  private ch(channel: string): string {
    return this.tagged ? `{${channel}}` : channel;
  }

  stream(channel: string): string {
    return `${this.prefix}.stream.${this.ch(channel)}`;
  }

  streamMeta(channel: string): string {
    return `${this.prefix}.stream.meta.${this.ch(channel)}`;
  }

  result(channel: string, idempotencyKey: string): string {
    return `${this.prefix}.result.${this.ch(channel)}.${idempotencyKey}`;
  }

  presenceData(channel: string): string {
    return `${this.prefix}.presence.data.${this.ch(channel)}`;
  }

  presenceExpire(channel: string): string {
    return `${this.prefix}.presence.expire.${this.ch(channel)}`;
  }

  presenceUserClients(channel: string): string {
    return `${this.prefix}.presence.user.clients.${this.ch(channel)}`;
  }

  presenceUserExpire(channel: string): string {
    return `${this.prefix}.presence.user.expire.${this.ch(channel)}`;
  }

  /** The PUB/SUB channel carrying CH's publications, joins and leaves. */
  client(channel: string): string {
    return `${this.prefix}.client.${this.ch(channel)}`;
  }

  /** The PUB/SUB channel of control messages to node `id` only. */
  node(id: string): string {
    return `${this.prefix}.node.${id}`;
  }

  /** The channel name a `P.client.CH` PUB/SUB channel carries, or undefined for another name. */
  channelOf(pubsubChannel: string): string | undefined {
    const head = `${this.prefix}.client.`;
    if (!pubsubChannel.startsWith(head)) return undefined;
    const rest = pubsubChannel.slice(head.length);
    if (!this.tagged) return rest;
    return rest.startsWith('{') && rest.endsWith('}') ? rest.slice(1, -1) : undefined;
  }
}
