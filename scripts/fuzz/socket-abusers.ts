/**
 * The abusive connections of a socket-fuzz run, in a process of their own (forked by
 * scripts/fuzz/socket-fuzz.ts with its options as JSON in argv[2]); reports their outcomes over IPC.
 */
import { runAbuserWaves, type AbuserWaves } from './socket-fuzz.js';

const options = JSON.parse(process.argv[2] ?? '{}') as AbuserWaves;
const outcomes = await runAbuserWaves(options);
process.send?.(outcomes, () => process.exit(0));
