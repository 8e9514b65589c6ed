// The moderators' queue on the chat page: for a user who owns or moderates a room, or is a
// server admin, a Reports button in the header with the number of open reports they may
// handle (GET /api/v1/reports, decided by the server), kept up to date by the `reported`
// event, after acting, and by a slow poll while reports are open (another moderator may close
// them: no event says so); and the dialog listing them, where each is handled in one step
// (report-card.js: room moderators dismiss, delete or kick; admins also mute and ban).

import { initConfirm } from './admin-confirm.js';
import { failure } from './admin-view.js';
import { ApiError, call } from './api.js';
import { actOnReport, MODERATOR_ACTIONS, reportCard } from './report-card.js';
import { moderates } from './rooms.js';
import { $, el } from './view.js';

/** @typedef {import('./report-card.js').Report} Report */
/** @typedef {import('./report-card.js').ActionSpec} ActionSpec */
/**
 * What the queue needs from the page.
 * @typedef {object} ModQueueDeps
 * @property {{ joined(): string[], role(name: string): string | null }} rooms our rooms
 * @property {(id: string, byUser: boolean, at?: number) => void} open shows a conversation,
 *   at a message
 * @property {(text: string) => void} notify says something in the notice line
 * @property {() => void} loggedOut the session is gone
 */

/** Reports per page of the dialog, and the most the badge counts (then it says "100+"). */
const PAGE = 100;
/** Several `reported` events in a row cost one count. */
const RECOUNT_DELAY_MS = 250;
/** While reports are open, how often they are counted again (closed by someone else). */
const POLL_MS = 60_000;

/** The Reports button, its count, and its dialog. */
export class ModQueue {
  /** @param {ModQueueDeps} deps */
  constructor(deps) {
    this.deps = deps;
    this.admin = false;
    /** Whether we moderate anything (an admin, or an owner or moderator of a room). */
    this.eligible = false;
    /** Open reports we may handle, as last counted (null: not counted). @type {number | null} */
    this.count = null;
    this.more = false;
    this.recountTimer = 0;
    this.pollTimer = 0;
    /** Counts loads of the list, so that a late answer to an older one is dropped. */
    this.loads = 0;
    /** The `before` of the list's next page, null at the end. @type {number | string | null} */
    this.next = null;
  }

  wire() {
    initConfirm();
    const dialog = $('mod-queue', HTMLDialogElement);
    $('reports-open').addEventListener('click', () => {
      dialog.showModal();
      $('mod-queue-notice').textContent = '';
      void this.load(false);
    });
    $('mod-queue-close').addEventListener('click', () => dialog.close());
    $('mod-queue-more').addEventListener('click', () => void this.load(true));
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && this.eligible) this.recount();
    });
  }

  /**
   * Whether we are a server admin (the session says; the server decides every call anyway).
   * @param {boolean} admin
   */
  setAdmin(admin) {
    this.admin = admin;
    this.roomsChanged();
  }

  /** Our rooms or roles may have changed: the button shows while we moderate anything. */
  roomsChanged() {
    const { rooms } = this.deps;
    const eligible = this.admin || rooms.joined().some((name) => moderates(rooms.role(name)));
    if (eligible === this.eligible) return;
    this.eligible = eligible;
    if (eligible) this.recount();
    else {
      this.count = null;
      clearTimeout(this.pollTimer);
      this.render();
    }
  }

  /** The stream is live again (hello): what was reported meanwhile is counted. */
  live() {
    if (this.eligible) this.recountSoon();
  }

  /** A `reported` event: a message we moderate was reported. */
  onReported() {
    this.recountSoon();
    if ($('mod-queue', HTMLDialogElement).open) void this.load(false);
  }

  recountSoon() {
    clearTimeout(this.recountTimer);
    this.recountTimer = window.setTimeout(() => this.recount(), RECOUNT_DELAY_MS);
  }

  /** Counts the open reports we may handle (one page of PAGE: more say "100+"). */
  async recount() {
    clearTimeout(this.pollTimer);
    let answer;
    try {
      answer = /** @type {{ reports: Report[], next: unknown }} */ (
        await call('GET', `reports?status=open&limit=${PAGE}`)
      );
    } catch (e) {
      if (ApiError.from(e).status === 401) this.deps.loggedOut();
      return;
    }
    this.count = answer.reports.length;
    this.more = answer.next !== null && answer.next !== undefined;
    this.render();
    if (this.count > 0 && this.eligible) {
      this.pollTimer = window.setTimeout(() => {
        if (document.visibilityState === 'visible') this.recount();
      }, POLL_MS);
    }
  }

  /** The button (shown to moderators, and to anyone the server gave reports) and its badge. */
  render() {
    const n = this.count ?? 0;
    const open = $('reports-open');
    open.hidden = !this.eligible && n === 0;
    const badge = $('reports-badge');
    badge.textContent = this.more ? `${PAGE}+` : String(n);
    badge.hidden = n === 0;
    open.setAttribute(
      'aria-label',
      n === 0 ? 'Reports: none open' : `Reports: ${badge.textContent} open`,
    );
  }

  /**
   * Reads the first page of open reports into the dialog, or the next one (`more`).
   * @param {boolean} more
   */
  async load(more) {
    const loads = ++this.loads;
    const list = $('mod-queue-list');
    const state = $('mod-queue-state');
    state.textContent = 'Loading…';
    const query = new URLSearchParams({ status: 'open', limit: String(PAGE) });
    if (more && this.next !== null) query.set('before', String(this.next));
    let answer;
    try {
      answer = /** @type {{ reports: Report[], next: number | string | null }} */ (
        await call('GET', `reports?${query}`)
      );
    } catch (e) {
      if (loads === this.loads) state.textContent = failure(e);
      return;
    }
    if (loads !== this.loads) return;
    if (!more) list.replaceChildren();
    for (const r of answer.reports) list.append(this.item(r));
    this.next = answer.next ?? null;
    $('mod-queue-more').hidden = this.next === null;
    state.textContent = list.childElementCount === 0 ? 'No open reports.' : '';
    if (!more) {
      this.count = answer.reports.length;
      this.more = this.next !== null;
      this.render();
    }
  }

  /**
   * A report's card with the actions we may take, and a way to its message in a room of ours.
   * @param {Report} r
   */
  item(r) {
    const { rooms } = this.deps;
    /** @type {HTMLElement[]} */
    const extra = [];
    const room = r.room;
    if (room !== null && rooms.role(room) !== null && !r.message.deleted) {
      const go = el('button', 'small quiet', 'Show in room');
      go.type = 'button';
      go.addEventListener('click', () => {
        $('mod-queue', HTMLDialogElement).close();
        this.deps.open(room, true, r.message.id);
      });
      extra.push(go);
    }
    return reportCard(r, {
      // Mute and ban are the server admins' (the server refuses them to others anyway).
      allowed: (action) => this.admin || MODERATOR_ACTIONS.includes(action),
      onAct: (report, a) => void this.act(report, a),
      extra,
    });
  }

  /**
   * Acts on a report in one step (confirmed, with a reason), then reads the queue again.
   * @param {Report} r
   * @param {ActionSpec} a
   */
  async act(r, a) {
    if (!(await actOnReport(r, a))) return;
    const said = `Report ${r.id}: ${a.go.toLowerCase()} done. The reporter is told.`;
    $('mod-queue-notice').textContent = said;
    this.deps.notify(said);
    await this.load(false);
  }
}
