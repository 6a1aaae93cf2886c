/**
 * Watch your diary's analysis arrive live: connects to the API's Socket.IO endpoint with an
 * access token, prints every notification (acknowledging each), and replays what it missed.
 *
 *   npx tsx scripts/watch-analysis.ts <accessToken> [http://127.0.0.1:3000] [lastSeq]
 */
import { io } from 'socket.io-client';

const [token, url = 'http://127.0.0.1:3000', lastSeq] = process.argv.slice(2);
if (!token) {
  console.error('usage: npx tsx scripts/watch-analysis.ts <accessToken> [url] [lastSeq]');
  process.exit(2);
}

const socket = io(url, { transports: ['websocket'], auth: { token, ...(lastSeq ? { lastSeq: Number(lastSeq) } : {}) } });
const seen = new Set<string>();

socket.on('connect', () => console.log(`connected to ${url} (socket ${socket.id})`));
socket.on('connect_error', (err) => console.error(`connect_error: ${err.message}`));
socket.on('disconnect', (reason) => console.log(`disconnected: ${reason}`));
socket.on('server:notice', (notice: { code: string; message: string }) => console.log(`notice: ${notice.code} - ${notice.message}`));
socket.on('analysis:status', (n: { id: string; seq: number; payload: Record<string, unknown> }, ack: () => void) => {
  ack();
  if (seen.has(n.id)) return;
  seen.add(n.id);
  console.log(`#${n.seq} diary ${String(n.payload.diaryId)} r${String(n.payload.revision)}: ${String(n.payload.status)}`, n.payload.summary ? JSON.stringify(n.payload.summary) : '');
});
socket.on('announcement', (a: { title: string; body: string }, ack: () => void) => {
  ack();
  console.log(`announcement: ${a.title} - ${a.body}`);
});
process.on('SIGINT', () => {
  socket.disconnect();
  process.exit(0);
});
