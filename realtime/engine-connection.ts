/**
 * Protection at the engine.io level, below Socket.IO's namespaces: a frame budget for every
 * connection, and dropping an abusive connection without the polite close handshake.
 */
export interface EngineSocket {
  request: { headers: unknown; rawHeaders: unknown } | null;
  on(event: 'packet', listener: (packet: { type: string; data?: unknown }) => void): void;
  close(discard?: boolean): void;
  /** engine.io's websocket transport holds the ws socket here (polling transports hold none). */
  transport?: { socket?: { terminate?: () => void } };
}

/** What a connection may send before it has joined a namespace: its CONNECT packets (token included). */
const FRAMES_BEFORE_JOIN = 4;
const BYTES_BEFORE_JOIN = 16 * 1024;

/**
 * A budget on every message frame of a connection, before Socket.IO decodes it (the per-socket
 * event budget of socket-guard.ts only sees events of a joined namespace, after decoding): a
 * connection that has not joined a namespace may send its CONNECT packets and nothing more, and a
 * joined one at most `framesPerWindow` frames (events, ack responses) and `frameBytesPerWindow`
 * characters of them per window (a client's frames are small; a deeply nested payload costs the
 * JSON parser about 100 times what a flat one of the same size does). Without it a
 * connection that never authenticates, or one that answers with made-up acks, has every frame
 * parsed (up to maxPayloadBytes of JSON each) for as long as it stays open. Over budget, the
 * connection is closed and its TCP socket destroyed.
 */
export function limitFrames(rawSocket: EngineSocket, limits: { eventWindowMs: number; framesPerWindow: number; frameBytesPerWindow: number }, joined: WeakSet<object>): void {
  let windowStart = Date.now();
  let count = 0;
  let bytes = 0;
  let closed = false;
  rawSocket.on('packet', (packet) => {
    if (packet.type !== 'message' || closed) return;
    const now = Date.now();
    if (now - windowStart >= limits.eventWindowMs) {
      windowStart = now;
      count = 0;
      bytes = 0;
    }
    count++;
    bytes += typeof packet.data === 'string' ? packet.data.length : Buffer.isBuffer(packet.data) ? packet.data.length : 0;
    const over = joined.has(rawSocket) ? count > limits.framesPerWindow || bytes > limits.frameBytesPerWindow : count > FRAMES_BEFORE_JOIN || bytes > BYTES_BEFORE_JOIN;
    if (over) {
      closed = true;
      dropConnection(rawSocket, 0);
    }
  });
}

/**
 * Closes an abusive connection and destroys its TCP socket after `graceMs` (time for a last notice
 * to go out): a polite WebSocket close waits up to 30 s for the peer's close frame, reading and
 * decoding whatever an abuser keeps sending meanwhile.
 */
export function dropConnection(conn: Pick<EngineSocket, 'close' | 'transport'>, graceMs: number): void {
  const transport = conn.transport;
  conn.close(graceMs === 0);
  if (graceMs === 0) transport?.socket?.terminate?.();
  else setTimeout(() => transport?.socket?.terminate?.(), graceMs).unref();
}
