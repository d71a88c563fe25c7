/**
 * Matching channel names for the `channels` API on one node. A node may hold hundreds of
 * thousands of channels, so matching yields to the event loop every SLICE_MS and one call never
 * holds up the node's clients for longer than that. Every node of a cluster runs this on its own
 * channels (the pattern travels in the survey), so only matching names cross the network.
 */
import { compileGlob, type GlobLimits, type GlobMatcher } from '../util/glob.js';
import { decodeChannels, decodeChannelsRequest, encodeChannels, encodeChannelsRequest } from './control/codec.js';
import type { SurveyHandler } from './control/plane.js';
import type { SurveyAnswer } from './control/surveys.js';

/**
 * Bounds of the `channels` API `pattern`: length in characters, and `*`/`?`/class wildcards
 * (Rotor's own; Centrifugo has none). A pattern's size multiplies the cost of each match: a 200 KB
 * pattern stopped every client for over 20 s before these and the yielding. Over them the call
 * answers 107 with a message naming the limit.
 */
export const CHANNELS_PATTERN_LIMITS: GlobLimits = { maxLength: 512, maxWildcards: 32 };
/** Longest stretch of matching without yielding, ms. */
const SLICE_MS = 5;
/**
 * Channels matched between two looks at the clock. A match against a long name with a pattern
 * that defeats the matcher's cache costs up to about 0.1 ms, so 256 of them overran a 5 ms slice
 * several times over (an `info` call waited 110 ms behind one); 16 keep the overrun under 2 ms,
 * and a clock read costs far less than one match.
 */
const SLICE_CHECK = 16;

/**
 * Compiles a `channels` pattern ("" matches everything). Throws GlobSyntaxError (GlobLimitError
 * past the limits) for a bad one.
 */
export function channelsMatcher(pattern: string): GlobMatcher | undefined {
  return pattern === '' ? undefined : compileGlob(pattern, CHANNELS_PATTERN_LIMITS);
}

/** The entries whose name matches, yielding every SLICE_MS. */
export async function matchChannels(entries: Iterable<readonly [string, number]>, matcher: GlobMatcher | undefined): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let sliceStart = performance.now();
  let i = 0;
  for (const [name, n] of entries) {
    if (matcher === undefined || matcher.test(name)) out.set(name, n);
    if (++i % SLICE_CHECK === 0 && performance.now() - sliceStart > SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  return out;
}

/** Where a node's channels and their subscriber counts are read (the hub). */
export interface ChannelCounts {
  channelNames(): Iterable<string>;
  channelSubscriberCount(channel: string): number;
}

/** This node's channels matching `pattern`, with their local subscriber counts. */
export function localChannels(hub: ChannelCounts, pattern: string): Promise<Map<string, number>> {
  function* entries(): Generator<readonly [string, number]> {
    for (const ch of hub.channelNames()) yield [ch, hub.channelSubscriberCount(ch)];
  }
  return matchChannels(entries(), channelsMatcher(pattern));
}

/** The survey op answered with a node's matching channels and their subscriber counts. */
const CHANNELS_SURVEY = 'channels';

/** What the cluster-wide `channels` needs of the control plane (ControlPlane implements it). */
export interface ChannelsSurveyPlane {
  readonly peers: number;
  onSurvey(op: string, handler: SurveyHandler): void;
  survey(op: string, data: Uint8Array): Promise<Map<string, SurveyAnswer>>;
}

/** Makes this node answer other nodes' `channels` surveys from `hub`. */
export function answerChannelsSurveys(plane: ChannelsSurveyPlane, hub: ChannelCounts): void {
  plane.onSurvey(CHANNELS_SURVEY, async (data) => encodeChannels(await localChannels(hub, decodeChannelsRequest(data))));
}

/**
 * Channels with subscribers on any node whose name matches `pattern`, with subscriber counts
 * summed over nodes. Each node matches its own channels (a survey); rejects when a node does not
 * answer in time.
 */
export async function clusterChannels(plane: ChannelsSurveyPlane, hub: ChannelCounts, pattern: string): Promise<Map<string, number>> {
  if (plane.peers === 0) return localChannels(hub, pattern);
  const answers = await plane.survey(CHANNELS_SURVEY, encodeChannelsRequest(pattern));
  const out = new Map<string, number>();
  for (const [node, a] of answers) {
    if (a.code !== 0) throw new Error(`channels survey: node ${node} answered with code ${a.code}`);
    for (const [ch, n] of decodeChannels(a.data)) out.set(ch, (out.get(ch) ?? 0) + n);
  }
  return out;
}
