// The decoder child: ImageProcessor forks this module (as dist/src/media/image-worker.js) and
// sends it one DecodeRequest at a time over IPC; it answers each with a DecodeReply. It holds
// sharp and libvips, so that their threads run in this process, at a lower CPU priority, and
// not beside the server's event loop; a crash or an OOM kill here costs one upload, not the
// server. It exits when the IPC channel closes (the parent closed it, or died).
import { getPriority, setPriority } from 'node:os';
import { DECODER_NICENESS, type DecodeReply, type DecodeRequest } from './image-protocol.js';

// Before sharp is loaded: Linux keeps a niceness per thread, and a new thread takes its
// creator's, so libuv's and libvips's threads (created later) all run at this one. The parent
// sets the same on this process's main thread after fork; both are best effort (a niceness
// above this one already, or a system that refuses, is left as it is).
try {
  if (getPriority() < DECODER_NICENESS) setPriority(DECODER_NICENESS);
} catch {
  // Not allowed here (EACCES, EPERM): decode at the inherited priority.
}

// Loaded after the niceness is set; requests that arrive meanwhile wait for it (the message
// handler is registered now, as a message with no listener yet would be lost).
const decoder = import('./decode-image.js').then((module) => {
  module.configureSharp();
  return module;
});

/** Sends `reply` to the parent; a parent gone meanwhile is the disconnect handler's business. */
function answer(reply: DecodeReply): void {
  if (process.connected) process.send?.(reply);
}

process.on('message', (message: DecodeRequest) => {
  const { id, path, type, limits } = message;
  decoder
    .then(({ decodeImage }) => decodeImage(path, type, limits))
    .then(
      (image) => answer({ id, ok: true, image }),
      async (err: unknown) => {
        const { decodeFailure } = await decoder;
        answer({ id, ok: false, failure: decodeFailure(err) });
      },
    );
});
// Without a parent no one reads the answers: stop, whatever is decoding.
process.on('disconnect', () => process.exit(0));
