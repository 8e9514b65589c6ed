import { createServer, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';

/**
 * Gives a stream's HTTP parser back to node once its request has been read.
 *
 * node:http keeps a parser on every connection until it closes: a native object of some
 * 1.7 KB (llhttp's state and room for 32 header fields) plus the listeners that feed it. An SSE
 * stream never reads another request on its connection (its response ends only when the
 * connection does), so for each of thousands of idle streams that parser is dead weight:
 * 2.5 KB of RSS per connection, a quarter of it, in bench/idle.mjs (bench/results/2026-12-02-notes.md).
 *
 * node does the same for a connection that upgrades (`_http_server.js`, the upgrade branch of
 * onParserExecuteCommon): it takes its parser's listeners off the socket, stops the parser from
 * consuming the socket, and frees it (into a pool of 1,000 that new connections draw from).
 * There is no public call for a response that is not an upgrade, so this uses node's own
 * `freeParser` and finds the six listeners by name. Should a later node name them otherwise,
 * nothing is released and streams keep their parsers, as before: parserReleaseWorks() says so at
 * startup, and release-parser.test.ts fails, so that the loss is seen. `--release-parser off`
 * turns it off altogether (node-transport.ts).
 *
 * After the release the socket is read by this module. Empty lines (CR and LF only) are
 * ignored, as node's parser ignored them before a request line (RFC 9112, section 2.2). Any
 * other bytes from the client after a stream's request (no EventSource sends any) close the
 * connection: a further request on it could not be answered before the stream ends anyway,
 * and used to wait unanswered for as long as the stream lived. A half-close from the client
 * ends the stream, as node does (its server's sockets allow half-open connections, and its
 * parser's listener ended them). Errors still go to node's listener, and so to the server's
 * 'clientError' handler.
 */

interface Parser {
  incoming: unknown;
}
type FreeParser = (parser: Parser, req: unknown, socket: Socket) => void;

/** node's own, from the module its http server uses; undefined if a later node lacks it. */
const freeParser: FreeParser | undefined = (() => {
  try {
    const common = createRequire(import.meta.url)('_http_common') as { freeParser?: unknown };
    return typeof common.freeParser === 'function' ? (common.freeParser as FreeParser) : undefined;
  } catch {
    return undefined;
  }
})();

/** The listeners node:http puts on a connection for its parser, by event and name. */
const FEEDERS: ReadonlyArray<readonly [string, string]> = [
  ['data', 'bound socketOnData'],
  ['end', 'bound socketOnEnd'],
  ['close', 'bound socketOnClose'],
  ['drain', 'bound socketOnDrain'],
  ['pause', 'onSocketPause'],
  ['resume', 'onSocketResume'],
];

type Listener = (...args: unknown[]) => void;
/** A connection as node:http keeps it; `_paused`: node stopped reading until output drains. */
type HttpSocket = Socket & { parser?: Parser | null; _httpMessage?: unknown; _paused?: boolean };

/**
 * The fail-closed probe: whether this node has what releaseParser relies on. A connection is
 * handed to a throwaway server that never listens (no I/O: the socket is not connected), and
 * the listeners node puts on it are looked up by name, as releaseParser will look them up on a
 * stream's connection. Any difference, or any throw, answers false.
 */
export function parserReleaseWorks(): boolean {
  if (freeParser === undefined) return false;
  const socket = new Socket() as HttpSocket;
  try {
    createServer().emit('connection', socket);
    if (!socket.parser) return false;
    return FEEDERS.every(([event, name]) =>
      (socket.listeners(event) as Listener[]).some((l) => l.name === name),
    );
  } catch {
    return false;
  } finally {
    // node's own 'close' listener frees the probe's parser into its pool.
    socket.destroy();
  }
}

/** Bytes after a stream's request: empty lines are let be; anything else closes it. */
function closeOnData(this: Socket, chunk: Buffer): void {
  for (const byte of chunk) {
    if (byte !== 0x0d && byte !== 0x0a) {
      this.destroy();
      return;
    }
  }
}

/** The client half-closed: the stream ends, as node:http ends a response then. */
function endOnEnd(this: Socket): void {
  this.end();
}

/**
 * Whether node has read a further request on `res`'s connection behind `res`'s own (a
 * pipelined one): a stream on `res` could never let it be answered.
 */
export function requestBehind(res: ServerResponse): boolean {
  const parser = (res.socket as HttpSocket | null)?.parser;
  return parser?.incoming != null && parser.incoming !== res.req;
}

/**
 * Releases the parser of `res`'s connection if `res` streams on it now and its request has been
 * read whole; returns whether it did. When node has already read a further request behind
 * `res`'s, it closes the connection instead. Call it outside node's parser callbacks (from
 * setImmediate), never from within a 'request' handler: the parser may still be running.
 */
export function releaseParser(res: ServerResponse): boolean {
  const socket = res.socket as HttpSocket | null;
  if (freeParser === undefined || socket === null || socket.destroyed) return false;
  const parser = socket.parser;
  if (!parser || socket._httpMessage !== res) return false;
  // A further request already read behind the stream: nobody could answer it before the stream
  // ends, and node would keep it, and its response, for as long as the stream lives. Close
  // the connection, as closeOnData does for one that comes after the release.
  if (parser.incoming !== res.req) {
    socket.destroy();
    return false;
  }
  // The stream's request still has a body to come, or node stopped reading until its output
  // drains: leave node in charge.
  if (!res.req.complete || socket._paused) return false;
  const found: Array<[string, Listener]> = [];
  for (const [event, name] of FEEDERS) {
    const fn = (socket.listeners(event) as Listener[]).find((l) => l.name === name);
    if (fn === undefined) return false;
    found.push([event, fn]);
  }
  for (const [event, fn] of found) socket.removeListener(event, fn);
  freeParser(parser, res.req, socket);
  socket.on('data', closeOnData);
  socket.on('end', endOnEnd);
  return true;
}
