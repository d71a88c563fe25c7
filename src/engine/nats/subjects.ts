/**
 * Channel names to NATS subjects, as Centrifugo's NATS broker names them (spec §9.4):
 * `<prefix>.client.<channel>` for a channel's publications, joins and leaves, `<prefix>.control`
 * for control messages to every node, `<prefix>.node.<nodeId>` for control to one node. In raw
 * mode a channel's subject is the raw prefix followed by the channel with the configured
 * replacements applied, so Rotor reads and writes subjects other NATS applications use.
 */
import type { NatsBrokerOptions } from './options.js';

/** Characters NATS does not allow in a subject (the protocol splits on them). */
const WHITESPACE = /\s/;

export class NatsSubjects {
  readonly control: string;
  private readonly nodePrefix: string;
  private readonly clientPrefix: string;
  private readonly raw: NatsBrokerOptions['rawMode'];
  /** Replacement keys, longest first, so `::` wins over `:` at the same position. */
  private readonly replaceKeys: string[];

  constructor(opts: Pick<NatsBrokerOptions, 'prefix' | 'rawMode'>) {
    this.control = `${opts.prefix}.control`;
    this.nodePrefix = `${opts.prefix}.node.`;
    this.clientPrefix = `${opts.prefix}.client.`;
    this.raw = opts.rawMode;
    this.replaceKeys = Object.keys(opts.rawMode.channelReplacements)
      .filter((k) => k !== '')
      .sort((a, b) => b.length - a.length);
  }

  node(nodeId: string): string {
    return this.nodePrefix + nodeId;
  }

  /** The subject of `channel`'s messages. */
  client(channel: string): string {
    if (!this.raw.enabled) return this.clientPrefix + channel;
    return this.raw.prefix + this.replace(channel);
  }

  /** The channel part of a subject this broker subscribed to (replacements not undone). */
  channelOf(subject: string): string {
    const prefix = this.raw.enabled ? this.raw.prefix : this.clientPrefix;
    return subject.startsWith(prefix) ? subject.slice(prefix.length) : subject;
  }

  private replace(channel: string): string {
    if (this.replaceKeys.length === 0) return channel;
    const map = this.raw.channelReplacements;
    let out = '';
    let i = 0;
    outer: while (i < channel.length) {
      for (const k of this.replaceKeys) {
        if (channel.startsWith(k, i)) {
          out += map[k];
          i += k.length;
          continue outer;
        }
      }
      out += channel[i];
      i++;
    }
    return out;
  }
}

/** Whether `channel` is a NATS wildcard pattern (a `*` or `>` token, or either anywhere). */
export function isWildcard(channel: string): boolean {
  return channel.includes('*') || channel.includes('>');
}

/**
 * The longest subject sent, in UTF-8 bytes. The server reads `PUB <subject> <size>` (or `SUB
 * <subject> <sid>`) as one control line of at most `max_control_line`, 4096 bytes by default, and
 * closes the whole connection over a longer one; this leaves room for the rest of the line.
 */
export const MAX_SUBJECT_BYTES = 4000;

/**
 * Why `subject` cannot be a NATS subject, or undefined when it can: empty, whitespace, an empty
 * token (`a..b`, a leading or trailing `.`: the server refuses the SUB, yet would keep the
 * connection, so the subscription would just never deliver), a `>` that is not the last token, or
 * longer than MAX_SUBJECT_BYTES.
 */
export function subjectProblem(subject: string): string | undefined {
  if (subject === '') return 'an empty subject';
  if (WHITESPACE.test(subject)) return `"${subject}" holds whitespace, which NATS subjects cannot`;
  const tokens = subject.split('.');
  if (tokens.includes('')) return `"${subject}" has an empty token (NATS subjects cannot start or end with "." or hold "..")`;
  const full = tokens.indexOf('>');
  if (full >= 0 && full !== tokens.length - 1) return `"${subject}" has ">" before its last token`;
  const size = Buffer.byteLength(subject);
  if (size > MAX_SUBJECT_BYTES) return `the subject is ${size} bytes, over ${MAX_SUBJECT_BYTES}`;
  return undefined;
}
