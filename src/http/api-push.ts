import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PushSubscriptions } from '../outbound/push/subscriptions.js';
import type { Admission } from './admission.js';
import type { Auth } from './auth.js';
import { type JsonBody, stringField } from './body.js';
import { sendEmpty, sendJson } from './reply.js';
import type { Handler } from './router.js';

/** What the push routes need from the JSON API. */
export interface ApiPushDeps {
  readonly push: PushSubscriptions;
  readonly auth: Auth;
  readonly admission: Admission;
  /** Reads the request's JSON body within the API's size bound. */
  readonly body: (req: IncomingMessage, res: ServerResponse) => Promise<JsonBody>;
}

/**
 * `/api/v1/push/…` (docs/api.md, Web Push): the server's VAPID key, and the caller's browser
 * subscriptions. A subscription is tied to the credential that made it, so logging that
 * session out removes it (Api.logout). Subscribing counts against the sender's flood guard
 * like a send: each one costs a DNS lookup.
 */
export class ApiPush {
  constructor(private readonly deps: ApiPushDeps) {}

  /** `GET /api/v1/push/key`: the VAPID public key; public, so no login. */
  readonly key: Handler = async (_req, res) => {
    sendJson(res, 200, { publicKey: this.deps.push.publicKey });
  };

  /** `POST /api/v1/push/subscriptions`: stores the browser's PushSubscription.toJSON(). */
  readonly subscribe: Handler = async (req, res) => {
    const { nick, credential } = await this.deps.auth.require(req);
    await this.deps.admission.send(req, nick);
    const body = await this.deps.body(req, res);
    const endpoint = await this.deps.push.subscribe(nick, credential.id, body);
    // The body arrives after the session was read: a ban made meanwhile ended every
    // subscription of the user, this one must not outlive it.
    await this.deps.auth.undoIfBanned(nick, () => this.deps.push.unsubscribe(nick, endpoint));
    sendJson(res, 201, { endpoint });
  };

  /**
   * `DELETE /api/v1/push/subscriptions` with `{endpoint}`: removes the caller's subscription
   * there. 204 also when they hold none: whether someone else does is not theirs to learn.
   */
  readonly unsubscribe: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    const endpoint = stringField(await this.deps.body(req, res), 'endpoint');
    await this.deps.push.unsubscribe(nick, endpoint);
    sendEmpty(res, 204);
  };
}
