import type { Bus } from '../bus/bus.js';
import { ChatError } from '../domain/errors.js';
import { avatarPath } from '../domain/profile.js';
import type { Presence } from '../presence/presence.js';
import type { Avatar, Profile, ProfileChange, ProfileStore } from '../store/profiles-store.js';

/** Most users one directory page lists (`GET /api/v1/users?limit=`). */
export const MAX_DIRECTORY_PAGE = 100;

/** A user as the API shows them (docs/api.md, Profiles). */
export interface ProfileView {
  readonly nick: string;
  readonly displayName: string | null;
  /** The path of the avatar's bytes, versioned; null when the user has none. */
  readonly avatar: string | null;
  readonly online: boolean;
  /** When the account was made, ms since the epoch. */
  readonly registered: number;
}

/** One page of the directory and the `after` of the next, null at the end. */
export interface DirectoryPage {
  readonly users: ReadonlyArray<Omit<ProfileView, 'registered'>>;
  readonly next: string | null;
}

/** What Profiles works with. */
export interface ProfilesDeps {
  readonly store: ProfileStore;
  readonly bus: Bus;
  readonly presence: Pick<Presence, 'online' | 'isConnected'>;
  readonly now?: () => number;
}

/**
 * Profiles of registered users (accounts mode): reads them with presence, changes one's own
 * and tells every stream (a `profile` event on the Bus, ephemeral: a page that missed it
 * reads the profiles it shows again when it reconnects).
 */
export class Profiles {
  private readonly now: () => number;

  constructor(private readonly deps: ProfilesDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The user of this nick in any ASCII case, or CHAT_USER_NOT_FOUND. */
  async view(nick: string): Promise<ProfileView> {
    const profile = await this.deps.store.profile(nick);
    if (!profile) throw new ChatError('CHAT_USER_NOT_FOUND');
    return {
      ...shown(profile, await this.deps.presence.isConnected(profile.nick)),
      registered: profile.registered,
    };
  }

  /** The avatar of the user of this nick (any ASCII case), if they have one. */
  async avatar(nick: string): Promise<Avatar | undefined> {
    return (await this.deps.store.profile(nick))?.avatar ?? undefined;
  }

  /** Changes `nick`'s own profile (the caller checked who asks) and tells every stream. */
  async update(nick: string, change: ProfileChange): Promise<ProfileView> {
    const profile = await this.deps.store.update(nick, change, this.now());
    if (!profile) throw new ChatError('CHAT_USER_NOT_FOUND');
    const view = shown(profile, await this.deps.presence.isConnected(profile.nick));
    this.deps.bus
      .publish({
        kind: 'profile',
        nick: profile.nick,
        displayName: profile.displayName,
        avatar: profile.avatar?.id ?? null,
      })
      .catch(() => {});
    return { ...view, registered: profile.registered };
  }

  /** A page of the directory: see ProfileStore.directory. */
  async directory(prefix: string, after: string, limit: number): Promise<DirectoryPage> {
    const [found, online] = await Promise.all([
      this.deps.store.directory({ prefix, after, limit: limit + 1 }),
      this.deps.presence.online(),
    ]);
    const here = new Set(online);
    const page = found.slice(0, limit);
    const last = page.at(-1);
    return {
      users: page.map((p) => shown(p, here.has(p.nick))),
      next: found.length > limit && last ? last.nick : null,
    };
  }
}

/** A profile as the API shows it, without `registered`. */
function shown(p: Profile, online: boolean): Omit<ProfileView, 'registered'> {
  return {
    nick: p.nick,
    displayName: p.displayName,
    avatar: p.avatar ? avatarPath(p.nick, p.avatar.id) : null,
    online,
  };
}
