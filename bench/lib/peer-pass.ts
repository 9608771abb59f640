/**
 * The contract between the bench and a peer child (`children/*-peer.ts`): the child is started with
 * `--url <postgres> --items N --warmup W`, runs W items untimed, then N timed, and prints one JSON
 * line, a {@link Measure} of the timed items with its own CPU.
 */
import { spawn } from 'node:child_process';
import { childScript } from './children.js';
import type { Measure } from './measure.js';

export interface PeerArgs {
  url: string;
  items: number;
  warmup: number;
}

/** Reads `--url`, `--items` and `--warmup` from a peer child's argv; exits with a message when one is missing. */
export function parsePeerArgs(argv: string[]): PeerArgs {
  const value = (name: string): string => {
    const i = argv.indexOf(name);
    const v = i === -1 ? undefined : argv[i + 1];
    if (v === undefined) throw new Error(`peer child: missing ${name}`);
    return v;
  };
  return { url: value('--url'), items: Number(value('--items')), warmup: Number(value('--warmup')) };
}

/** A peer child that has not finished by then is killed and its pass fails. */
const PEER_TIMEOUT_MS = 300_000;

/** Runs a peer child to completion and returns the measure it printed. */
export function peerPass(child: string, args: PeerArgs): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const argv = [childScript(child), '--url', args.url, '--items', String(args.items), '--warmup', String(args.warmup)];
    const proc = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => (out += chunk));
    const timer = setTimeout(() => proc.kill('SIGKILL'), PEER_TIMEOUT_MS);
    proc.once('error', reject);
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') return reject(new Error(`${child} did not finish within ${PEER_TIMEOUT_MS / 1000} s`));
      const last = out.trim().split('\n').pop();
      if (code !== 0 || !last) reject(new Error(`${child} exited with code ${code}`));
      else resolve(JSON.parse(last) as Measure);
    });
  });
}

/** Prints a child's measure as its one stdout line. */
export function printMeasure(m: Measure): void {
  process.stdout.write(JSON.stringify(m) + '\n');
}
