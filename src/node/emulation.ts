/**
 * Routing of /emulation requests (HTTP-streaming and SSE clients sending their commands by POST)
 * to the node holding the session: this one, or another live node asked through the control plane
 * (the "emulation" survey of one node), which answers once it has handed the commands to the
 * session, as Centrifugo does.
 */
import type { ControlPlane } from './control/plane.js';
import { decodeEmulation, encodeEmulation } from './control/codec.js';

/** The survey op, asked of one node, that hands /emulation commands to a session it holds. */
const EMULATION_SURVEY = 'emulation';

/** Where a session is found by its session ID (the hub; narrowed so this file imports no session). */
export interface SessionsById {
  sessionBySessionId(id: string): { readonly transport: { readonly emulation: boolean }; handleFrame(data: Uint8Array): void } | undefined;
}

export class EmulationRouter {
  constructor(
    private readonly nodeId: string,
    private readonly hub: SessionsById,
    private readonly control: ControlPlane,
  ) {
    control.onSurvey(EMULATION_SURVEY, (data) => {
      const r = decodeEmulation(data);
      this.emulate(r.session, r.data);
      return new Uint8Array(0);
    });
  }

  /**
   * Resolves false when `nodeId` names no live node; rejects when that node does not answer in
   * time or the broker cannot ask it.
   */
  async route(nodeId: string, session: string, data: Uint8Array): Promise<boolean> {
    if (nodeId === this.nodeId) {
      this.emulate(session, data);
      return true;
    }
    if (!this.control.knows(nodeId)) return false;
    const a = await this.control.ask(nodeId, EMULATION_SURVEY, encodeEmulation(session, data));
    if (a.code !== 0) throw new Error(`emulation: node ${nodeId} answered with code ${a.code}`);
    return true;
  }

  /** Feeds emulation data to a session of this node; unknown sessions are dropped silently. */
  private emulate(session: string, data: Uint8Array): void {
    const s = this.hub.sessionBySessionId(session);
    if (s !== undefined && s.transport.emulation) s.handleFrame(data);
  }
}
