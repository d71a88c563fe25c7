/**
 * The control plane: what nodes of one cluster tell each other through the broker's control
 * channel, whatever the engine (spec §9.1, §9.3). It keeps the registry of live nodes (heartbeats
 * every `heartbeatIntervalMs`, 3 s by default; a node silent for 2 intervals + 1 s is dropped, as
 * Centrifugo does), announces this node's shutdown, runs surveys (a question to every node,
 * answers gathered with a timeout, 10 s by default; or a question to one node), and hands user
 * operations from other nodes to the host (the Node) to apply to its connections.
 *
 * Time is the monotonic clock (`performance.now()`): a step of the wall clock neither drops
 * every peer at once nor keeps dead ones alive.
 *
 * Messages this node sent come back to it on engines that broadcast to every node (the memory
 * bus, Redis); they are ignored: the host applies its own operations locally before sending.
 */
import type { Logger } from '../../util/logger.js';
import { decodeControl, encodeControl } from './codec.js';
import { SURVEY_CODES, type ControlCommand, type NodeInfo } from './messages.js';
import { NodeRegistry } from './registry.js';
import { SurveyBook, type SurveyAnswer } from './surveys.js';
import { UserWatchBook } from './user-watches.js';
import type { UserWatchEvent } from '../watch/events.js';

/** User operations from other nodes, applied by the host. */
export type RemoteCommand = Extract<ControlCommand, { kind: 'disconnect' | 'unsubscribe' | 'subscribe' | 'refresh' }>;

export interface ControlHost {
  readonly nodeId: string;
  /** This node's current figures, for its heartbeat and `info`. */
  localInfo(): NodeInfo;
  /** Publishes on the broker's control channel: to every node, or to `toNode` only. */
  sendControl(data: Uint8Array, toNode?: string): Promise<void>;
  /** Applies another node's user operation to this node's connections. */
  applyRemote(c: RemoteCommand): Promise<void>;
  /** Hands a watched user's event from another node to this node's watchers. */
  userEvent(e: UserWatchEvent): void;
  /** A survey ended (answered, failed or timed out) after `durationMs`: for metrics. */
  surveyed?(op: string, durationMs: number): void;
}

/** Answers a survey on this node: the request's data in, the answer's data out. */
export type SurveyHandler = (data: Uint8Array) => Uint8Array | Promise<Uint8Array>;

export interface ControlPlaneOptions {
  /** Heartbeat period, ms. Default 3000. */
  heartbeatIntervalMs?: number;
  /** How long a survey waits for every node, ms. Default 10000. */
  surveyTimeoutMs?: number;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 3000;
export const DEFAULT_SURVEY_TIMEOUT_MS = 10_000;
/** The survey op every node answers at once (see `sync`). */
const SYNC_SURVEY = 'sync';
/** Distinct reasons for dropped messages logged at most this many times, so a storm of bad
 * messages from a misconfigured peer cannot flood the log. */
const MAX_LOGGED_DROPS = 100;

export class ControlPlane {
  private readonly registry: NodeRegistry;
  private readonly userWatches: UserWatchBook;
  /** The users this node's watchers follow, as last announced. */
  private watchedUsers: string[] = [];
  /** A `watchUsers` repeat the broker has not settled yet: the next tick skips rather than piles up. */
  private watchRepeatInFlight = false;
  private readonly surveys = new SurveyBook();
  private readonly surveyHandlers = new Map<string, SurveyHandler>();
  private readonly heartbeatIntervalMs: number;
  private readonly surveyTimeoutMs: number;
  private readonly loggedDrops = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** A heartbeat the broker has not settled yet: the next tick skips rather than piles up. */
  private heartbeatInFlight = false;
  /** Heartbeats failed in a row since the last one sent. */
  private heartbeatFailures = 0;

  constructor(
    private readonly host: ControlHost,
    private readonly log: Logger,
    opts: ControlPlaneOptions = {},
  ) {
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.surveyTimeoutMs = opts.surveyTimeoutMs ?? DEFAULT_SURVEY_TIMEOUT_MS;
    this.registry = new NodeRegistry(2 * this.heartbeatIntervalMs + 1000);
    this.userWatches = new UserWatchBook(2 * this.heartbeatIntervalMs + 1000);
    this.onSurvey(SYNC_SURVEY, () => new Uint8Array(0));
  }

  /** Registers the handler of one survey op (for this node's answer, local or asked remotely). */
  onSurvey(op: string, handler: SurveyHandler): void {
    this.surveyHandlers.set(op, handler);
  }

  /**
   * Announces this node, asking the others to answer with their heartbeats at once, and starts
   * the heartbeat timer (unref'd: it never keeps the process alive).
   */
  async start(): Promise<void> {
    await this.heartbeat(true);
    this.timer = setInterval(() => this.tick(), this.heartbeatIntervalMs);
    this.timer.unref();
  }

  /** Announces the shutdown (best effort), fails surveys in flight and stops the timer. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.surveys.closeAll();
    this.registry.clear();
    this.userWatches.clear();
    try {
      await this.send(encodeControl(this.host.nodeId, { kind: 'shutdown' }));
    } catch (err) {
      this.log.warn({ err }, 'could not announce the shutdown to other nodes');
    }
  }

  /** Every live node, this one first. */
  nodes(): NodeInfo[] {
    return [this.host.localInfo(), ...this.registry.infos()];
  }

  /** Whether `uid` is this node or a live node. */
  knows(uid: string): boolean {
    return uid === this.host.nodeId || this.registry.has(uid);
  }

  /** Number of other live nodes. */
  get peers(): number {
    return this.registry.size;
  }

  /** Sends a user operation to every other node. Rejects when the broker cannot publish. */
  broadcast(c: RemoteCommand): Promise<void> {
    return this.send(encodeControl(this.host.nodeId, c));
  }

  /**
   * Announces the users this node's watchers follow (the whole set) to every node now, and again
   * with each heartbeat while it is not empty. A failed send is logged: the next heartbeat repeats it.
   */
  setWatchedUsers(users: readonly string[]): void {
    this.watchedUsers = [...users];
    void this.sendWatchedUsers();
  }

  /**
   * Resolves once every live node has handled every control message this node sent before the
   * call: the control channel keeps one sender's messages in order, and each node answers this
   * survey only after the ones before it. Rejects as a survey does.
   */
  async sync(): Promise<void> {
    for (const [node, a] of await this.survey(SYNC_SURVEY, new Uint8Array(0))) {
      if (a.code !== 0) throw new Error(`node ${node} answered the sync with code ${a.code}`);
    }
  }

  /** The other nodes watching `user`; undefined when none does (one size check when nobody watches). */
  nodesWatching(user: string): readonly string[] | undefined {
    return this.userWatches.nodesWatching(user);
  }

  /** Sends a watched user's event to one node watching it. Best effort: a failed send is logged. */
  sendUserEvent(toNode: string, event: UserWatchEvent): void {
    this.send(encodeControl(this.host.nodeId, { kind: 'userEvent', event }), toNode).catch((err: unknown) => {
      this.log.warn({ err, node: toNode }, 'could not send a watched user event');
    });
  }

  /** Never rejects: a failed send is logged, and the next heartbeat tick repeats it. */
  private sendWatchedUsers(toNode?: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.send(encodeControl(this.host.nodeId, { kind: 'watchUsers', users: this.watchedUsers }), toNode).catch((err: unknown) => {
      this.log.warn({ err }, 'could not announce the watched users');
    });
  }

  /**
   * Asks one live node (a survey of one) and returns its answer. Rejects when it does not answer
   * in time (SurveyTimeoutError), leaves, or the broker cannot send the question.
   */
  async ask(uid: string, op: string, data: Uint8Array): Promise<SurveyAnswer> {
    const answers = await this.request(op, data, [uid], uid);
    const a = answers.get(uid);
    if (a === undefined) throw new Error(`node ${uid} left before answering ${op}`);
    return a;
  }

  /**
   * Asks every live node, this one included, and returns each node's answer by node ID. Rejects
   * when a node does not answer in time (SurveyTimeoutError) or the node stops meanwhile.
   */
  async survey(op: string, data: Uint8Array): Promise<Map<string, SurveyAnswer>> {
    const started = performance.now();
    try {
      const others = this.registry.ids();
      const remote = others.length > 0 ? this.request(op, data, others) : new Map<string, SurveyAnswer>();
      // Both awaited together, so a remote failure always has a handler attached.
      const [local, answers] = await Promise.all([this.answer(op, data), remote]);
      answers.set(this.host.nodeId, local);
      return answers;
    } finally {
      this.host.surveyed?.(op, performance.now() - started);
    }
  }

  /**
   * Opens a survey waiting for `nodes` and sends its request, to every node or to `toNode`. A
   * failed send fails the survey at once rather than after the timeout.
   */
  private request(op: string, data: Uint8Array, nodes: readonly string[], toNode?: string): Promise<Map<string, SurveyAnswer>> {
    const s = this.surveys.open(op, nodes, this.surveyTimeoutMs);
    this.send(encodeControl(this.host.nodeId, { kind: 'surveyRequest', id: s.id, op, data }), toNode).catch((err: unknown) => {
      this.surveys.fail(s.id, err instanceof Error ? err : new Error(String(err)));
    });
    return s.answers;
  }

  /**
   * Takes a message from the broker. Never throws: a bad message is logged and dropped, and the
   * answer is false (the broker counts it).
   */
  handle(data: Uint8Array): boolean {
    if (this.stopped) return true;
    const d = decodeControl(data);
    if (!d.ok) {
      this.logDrop(d.reason);
      return false;
    }
    const { from, command: c } = d.message;
    if (from === this.host.nodeId) return true;
    if (c.kind === 'node' && c.info.uid !== from) {
      this.logDrop(`heartbeat from ${from} carries node ID ${c.info.uid}`);
      return false;
    }
    this.dispatch(from, c);
    return true;
  }

  private dispatch(from: string, c: ControlCommand): void {
    switch (c.kind) {
      case 'node':
        if (this.registry.seen(c.info, performance.now())) this.log.info({ node: from, name: c.info.name }, 'node joined');
        if (c.reply) {
          this.sendHeartbeat(false, from);
          // A node that just started learns what this one watches now, not a heartbeat later.
          if (this.watchedUsers.length > 0) void this.sendWatchedUsers(from);
        }
        return;
      case 'shutdown':
        if (this.registry.stoppedNode(from, performance.now())) this.log.info({ node: from }, 'node left (shutdown)');
        this.surveys.nodeGone(from);
        this.userWatches.drop(from);
        return;
      case 'surveyRequest':
        void this.answerSurvey(c.id, c.op, c.data, from);
        return;
      case 'surveyResponse':
        this.surveys.answer(c.id, from, { code: c.code, data: c.data });
        return;
      case 'watchUsers':
        this.userWatches.set(from, c.users, performance.now());
        return;
      case 'userEvent':
        this.host.userEvent(c.event);
        return;
      default:
        this.host.applyRemote(c).catch((err: unknown) => this.log.error({ err, node: from, command: c.kind }, 'control command failed'));
    }
  }

  private tick(): void {
    if (!this.heartbeatInFlight) this.sendHeartbeat(false);
    if (this.watchedUsers.length > 0 && !this.watchRepeatInFlight) {
      this.watchRepeatInFlight = true;
      this.sendWatchedUsers().finally(() => (this.watchRepeatInFlight = false));
    }
    const now = performance.now();
    for (const uid of this.registry.prune(now)) {
      this.log.info({ node: uid }, 'node left (no heartbeat)');
      this.surveys.nodeGone(uid);
      this.userWatches.drop(uid);
    }
    this.userWatches.prune(now);
  }

  /**
   * While the broker is down every heartbeat fails: the first failure of a run is logged, the
   * rest only counted, and the first heartbeat sent after them says how many failed.
   */
  private sendHeartbeat(reply: boolean, toNode?: string): void {
    this.heartbeatInFlight = true;
    this.heartbeat(reply, toNode)
      .then(
        () => {
          if (this.heartbeatFailures > 0) this.log.info({ failed: this.heartbeatFailures }, 'node heartbeat sent again');
          this.heartbeatFailures = 0;
        },
        (err: unknown) => {
          if (this.heartbeatFailures++ === 0) this.log.warn({ err }, 'could not send the node heartbeat (logged once until one is sent)');
        },
      )
      .finally(() => (this.heartbeatInFlight = false));
  }

  private heartbeat(reply: boolean, toNode?: string): Promise<void> {
    return this.send(encodeControl(this.host.nodeId, { kind: 'node', info: this.host.localInfo(), reply }), toNode);
  }

  /** The host's send, as a promise even if it throws instead of rejecting. */
  private send(data: Uint8Array, toNode?: string): Promise<void> {
    try {
      return this.host.sendControl(data, toNode);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Answers a survey. An answer the broker refuses (over NATS `max_payload`, say) is followed by
   * a bare failure, so the asking node fails now instead of at its survey timeout. Never rejects:
   * `answer` turns a handler's failure into an answer, and sending failures are caught here.
   */
  private async answerSurvey(id: number, op: string, data: Uint8Array, to: string): Promise<void> {
    const a = await this.answer(op, data);
    try {
      await this.send(encodeControl(this.host.nodeId, { kind: 'surveyResponse', id, ...a }), to);
    } catch (err) {
      this.log.warn({ err, node: to, op }, 'could not answer a survey');
      if (a.code !== 0) return;
      await this.send(encodeControl(this.host.nodeId, { kind: 'surveyResponse', id, code: SURVEY_CODES.failed, data: new Uint8Array(0) }), to).catch(() => {});
    }
  }

  private async answer(op: string, data: Uint8Array): Promise<SurveyAnswer> {
    const h = this.surveyHandlers.get(op);
    if (h === undefined) return { code: SURVEY_CODES.unknownOp, data: new Uint8Array(0) };
    try {
      return { code: 0, data: await h(data) };
    } catch (err) {
      this.log.error({ err, op }, 'survey handler failed');
      return { code: SURVEY_CODES.failed, data: new Uint8Array(0) };
    }
  }

  private logDrop(reason: string): void {
    if (this.loggedDrops.size >= MAX_LOGGED_DROPS || this.loggedDrops.has(reason)) return;
    this.loggedDrops.add(reason);
    this.log.warn({ reason }, 'control message dropped');
  }
}
