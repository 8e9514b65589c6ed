// The server's side of the decoder child (image-worker.ts): starts it, sends it one image at a
// time, kills it when a job's caller gives up, and starts a new one for the next job.
import { type ChildProcess, fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ChatError } from '../domain/errors.js';
import {
  DECODE_ERRORS,
  DECODER_NICENESS,
  type DecodeLimits,
  type DecodeReply,
  type DecodeRequest,
} from './image-protocol.js';
import type { ProcessedImage } from './images.js';

/** The child's module, beside this one in dist/ (tests and the server both run from dist/). */
const WORKER = fileURLToPath(new URL('./image-worker.js', import.meta.url));

/** The job in flight: its id and how to answer its caller. */
interface InFlight {
  readonly id: number;
  /** The child it was sent to: only that child's death fails it. */
  readonly child: ChildProcess;
  readonly resolve: (image: ProcessedImage) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * One decoder child process, started on the first job and again after it died or was killed.
 * One job at a time (the caller's queue sees to that; a second concurrent call is refused with
 * INTERNAL). The child is killed (SIGKILL) when a job's signal aborts: that is the only way to
 * stop libvips mid-image. A child that dies fails the job in flight with UPLOAD_IMAGE_INVALID
 * and nothing else. Memory in this process: one pending job.
 */
export class DecoderProcess {
  private child: ChildProcess | undefined;
  private inFlight: InFlight | undefined;
  private nextId = 1;
  private closed = false;

  /** The running child's pid, if one runs (for tests and logs). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Decodes the image at `path` in the child. Rejects with the child's ChatError
   * (UPLOAD_IMAGE_INVALID or UPLOAD_IMAGE_TOO_LARGE), UPLOAD_IMAGE_INVALID if the child dies,
   * or `signal`'s reason once it aborts (the child is then killed), or SERVER_UNAVAILABLE after
   * close().
   */
  decode(
    path: string,
    type: string,
    limits: DecodeLimits,
    signal: AbortSignal,
  ): Promise<ProcessedImage> {
    if (this.closed) return Promise.reject(new ChatError('SERVER_UNAVAILABLE'));
    if (this.inFlight !== undefined) return Promise.reject(new ChatError('INTERNAL'));
    if (signal.aborted) return Promise.reject(signal.reason);
    const child = this.child ?? this.start();
    const id = this.nextId++;
    return new Promise<ProcessedImage>((resolve, reject) => {
      const onAbort = (): void => {
        this.fail(id, signal.reason);
        // Forgotten now, not at its exit: the next job must not be sent to a dying child.
        if (this.child === child) this.child = undefined;
        child.kill('SIGKILL');
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const done = (): void => {
        signal.removeEventListener('abort', onAbort);
        hold(child, false);
      };
      hold(child, true);
      this.inFlight = {
        id,
        child,
        resolve: (image) => {
          done();
          resolve(image);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
      const request: DecodeRequest = { id, path, type, limits };
      child.send(request, (err) => {
        if (err) this.fail(id, new ChatError('UPLOAD_IMAGE_INVALID', 'the decoder is gone'));
      });
    });
  }

  /** Stops the child (SIGKILL: it holds nothing worth a graceful end); fails a job in flight. */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Held until it is gone, or this process could end before the 'exit' that close awaits.
    hold(child, true);
    child.kill('SIGKILL');
    await exited;
  }

  /** Forks the child, lowers its priority and wires its replies and its end. */
  private start(): ChildProcess {
    // execArgv: none of the server's flags (--test, --inspect…) apply to the decoder. stdout is
    // not wanted; stderr is kept so that a crash of libvips says why.
    const child = fork(WORKER, [], {
      serialization: 'advanced',
      execArgv: [],
      // glibc gives each thread that allocates its own arena and keeps freed pages in them, so
      // the decoder's RSS climbs image after image (fragmentation, not a leak); two arenas keep
      // it near one image's worth. An operator's own setting wins.
      env: { MALLOC_ARENA_MAX: '2', ...process.env },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.child = child;
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, DECODER_NICENESS);
      } catch {
        // EACCES/EPERM/ESRCH: the child lowers its own priority too, or it already exited.
      }
    }
    hold(child, false);
    child.on('message', (reply: DecodeReply) => this.settle(reply));
    child.on('error', () => {
      // A failed fork or send; 'exit' (or the send callback) reports it to the job.
    });
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
      const flight = this.inFlight;
      if (flight?.child === child) {
        this.fail(flight.id, new ChatError('UPLOAD_IMAGE_INVALID', 'the decoder stopped'));
      }
    });
    return child;
  }

  /** Answers the job a reply belongs to; a reply to a job already answered is dropped. */
  private settle(reply: DecodeReply): void {
    const flight = this.inFlight;
    if (flight === undefined || flight.id !== reply.id) return;
    this.inFlight = undefined;
    if (reply.ok) {
      flight.resolve(asBuffers(reply.image));
      return;
    }
    const { code, detail } = reply.failure;
    const known = (DECODE_ERRORS as readonly string[]).includes(code);
    flight.reject(new ChatError(known ? code : 'UPLOAD_IMAGE_INVALID', detail));
  }

  /** Fails job `id` with `err` if it is still in flight. */
  private fail(id: number, err: unknown): void {
    const flight = this.inFlight;
    if (flight === undefined || flight.id !== id) return;
    this.inFlight = undefined;
    flight.reject(err);
  }
}

/**
 * Whether `child` keeps this process alive: while a job is in flight, so that its answer is
 * awaited; not while idle, so that a server (or a test) that forgot close() still exits.
 */
function hold(child: ChildProcess, on: boolean): void {
  if (on) {
    child.ref();
    child.channel?.ref();
  } else {
    child.unref();
    child.channel?.unref();
  }
}

/** The image with its bytes as Buffers: the structured clone may hand back plain Uint8Arrays. */
function asBuffers(image: ProcessedImage): ProcessedImage {
  const buffer = (bytes: Uint8Array): Buffer =>
    Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { ...image, data: buffer(image.data), thumb: buffer(image.thumb) };
}
