/**
 * Surveys in flight: a question sent to every other node, answered by each through a
 * SurveyResponse addressed to the asking node. A survey settles when every node it waits for has
 * answered or is gone from the registry (it announced its shutdown, or sent no heartbeat for two
 * intervals and a second: 7 s by default, noticed at the next 3 s tick, so 7 to 10 s after its last
 * heartbeat, at or before the 10 s survey timeout), and fails after its timeout naming the nodes
 * that did not answer.
 *
 * Centrifugo counts the nodes at the start and fails a survey that one of them leaves unanswered
 * at its deadline. Rotor answers without a node the cluster has dropped meanwhile, as `info` does
 * from then on: a node that stopped has no clients left, and one cut off from the broker cannot
 * deliver to its clients anyway. A node that is still listed and silent fails the survey.
 */

/** One node's answer: `code` 0 and its data, or a SURVEY_CODES error. */
export interface SurveyAnswer {
  code: number;
  data: Uint8Array;
}

export class SurveyTimeoutError extends Error {
  constructor(op: string, missing: readonly string[], timeoutMs: number) {
    super(`survey ${op}: no answer from node(s) ${missing.join(', ')} within ${timeoutMs} ms`);
    this.name = 'SurveyTimeoutError';
  }
}

export class SurveyClosedError extends Error {
  constructor(op: string) {
    super(`survey ${op}: the node is stopping`);
    this.name = 'SurveyClosedError';
  }
}

interface Pending {
  op: string;
  waiting: Set<string>;
  answers: Map<string, SurveyAnswer>;
  timer: NodeJS.Timeout;
  timeoutMs: number;
  resolve(answers: Map<string, SurveyAnswer>): void;
  reject(e: Error): void;
}

export class SurveyBook {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** Opens a survey waiting for `nodes`; send the request with the returned `id` after this. */
  open(op: string, nodes: readonly string[], timeoutMs: number): { id: number; answers: Promise<Map<string, SurveyAnswer>> } {
    const id = this.nextId++;
    const answers = new Promise<Map<string, SurveyAnswer>>((resolve, reject) => {
      const timer = setTimeout(() => {
        const p = this.pending.get(id);
        if (p === undefined) return;
        this.pending.delete(id);
        p.reject(new SurveyTimeoutError(op, [...p.waiting], timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { op, waiting: new Set(nodes), answers: new Map(), timer, timeoutMs, resolve, reject });
    });
    this.settleIfDone(id);
    return { id, answers };
  }

  /** Records an answer; ignored for a survey that settled already or a node it does not wait for. */
  answer(id: number, from: string, a: SurveyAnswer): void {
    const p = this.pending.get(id);
    if (p === undefined || !p.waiting.delete(from)) return;
    p.answers.set(from, a);
    this.settleIfDone(id);
  }

  /** A node left: surveys stop waiting for it. */
  nodeGone(uid: string): void {
    for (const [id, p] of this.pending) if (p.waiting.delete(uid)) this.settleIfDone(id);
  }

  /** Fails one survey (its request could not be sent). */
  fail(id: number, e: Error): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    p.reject(e);
  }

  /** Fails every survey in flight (the node is stopping). */
  closeAll(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new SurveyClosedError(p.op));
    }
  }

  private settleIfDone(id: number): void {
    const p = this.pending.get(id);
    if (p === undefined || p.waiting.size > 0) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    p.resolve(p.answers);
  }
}
