/**
 * The chaos run's own PostgreSQL and Redis: a PostgreSQL cluster initdb'd into a temporary
 * directory and started on a free port (trust auth, fsync off: the run tests ssechat, not the
 * disk; synchronous_commit stays on, so that an immediate restart keeps every acknowledged
 * commit), and a redis-server on a free port with no persistence (a restart is empty). Both are
 * removed at the end, also on failure or Ctrl-C (see stopSync).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { answers, freePort, PrivateRedis } from '../cluster-kit.js';

export { answers, freePort };

/** The PostgreSQL binaries' directory: /usr/local/bin, else the newest Debian one. */
function pgBin(): string {
  if (existsSync('/usr/local/bin/initdb') && existsSync('/usr/local/bin/pg_ctl')) {
    return '/usr/local/bin';
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(a) - Number(b)) : [];
  const last = versions.at(-1);
  if (!last) throw new Error('no PostgreSQL binaries (initdb, pg_ctl) found');
  return join(root, last, 'bin');
}

/** initdb and postgres refuse to run as root: as root, they run as the `postgres` user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
  return { uid, gid };
}

/** The chaos run's PostgreSQL. */
export class Postgres {
  private readonly bin = pgBin();
  private readonly user = runAs();

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /** The URL of the database, direct (not through a proxy). */
  url(port = this.port): string {
    return `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  /** initdb into `dir` (created by the caller, empty) and start on a free port. */
  static async start(dir: string): Promise<Postgres> {
    const pg = new Postgres(dir, await freePort());
    if (pg.user) chownSync(dir, pg.user.uid, pg.user.gid);
    pg.run('initdb', [
      '-D',
      dir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-locale',
      '-N',
    ]);
    const opts = [
      `-p ${pg.port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ');
    pg.run('pg_ctl', ['start', '-D', dir, '-w', '-t', '60', '-l', join(dir, 'log'), '-o', opts]);
    return pg;
  }

  /** pg_ctl restart with a shutdown mode (`fast`: clients are cut; `immediate`: a crash). */
  async restart(mode: 'fast' | 'immediate'): Promise<void> {
    await this.runAsync('pg_ctl', ['restart', '-D', this.dir, '-m', mode, '-w', '-t', '60']);
  }

  /** Stops it at once, synchronously (for exit handlers); fine when it is not running. */
  stopSync(): void {
    spawnSync(join(this.bin, 'pg_ctl'), ['stop', '-D', this.dir, '-m', 'immediate', '-w'], {
      stdio: 'ignore',
      timeout: 30_000,
      ...this.user,
    });
  }

  private run(tool: string, args: string[]): void {
    const r = spawnSync(join(this.bin, tool), args, {
      encoding: 'utf8',
      timeout: 120_000,
      ...this.user,
    });
    if (r.status !== 0) throw new Error(`${tool} failed (${r.status}): ${r.stderr}${r.stdout}`);
  }

  private runAsync(tool: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(join(this.bin, tool), args, { stdio: 'pipe', ...this.user });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`${tool} ${args[0]} failed (${code}): ${out}`)),
      );
    });
  }
}

/** The chaos run's redis-server (PrivateRedis): no persistence, so a restart is empty. */
export { PrivateRedis as Redis };
