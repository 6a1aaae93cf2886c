import { parentPort } from 'node:worker_threads';
import { answerThreadRequest, type ThreadRequest } from './offline-pool.js';

/**
 * One thread of the offline analyzer's pool (offline-pool.ts): analyses the entries of each
 * message it is sent, one after another, and answers them in one message, in the same order.
 */
if (!parentPort) throw new Error('offline-thread.ts runs as a worker thread of offline-pool.ts');
const port = parentPort;
port.on('message', (request: ThreadRequest) => port.postMessage(answerThreadRequest(request)));
