import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { fixturePath } from './paths.js';
import { makeTempDir } from './temp-dir.js';

const GATE_SERVER = fixturePath('gate-server.mjs');

/** A throw-away directory holding a config (`flowrun.yaml`) and the flows the tests run. */
export interface Workspace {
  dir: string;
  config: string;
  /** Echoes each item's input: output = input. */
  echoFlow: string;
  /** Holds each item in `/gate` until the gate answers; input `{url, item}`. */
  gateFlow: string;
  remove(): Promise<void>;
}

/**
 * Writes a config routing `/t/*` to the gate fixture server. Stores are in memory unless
 * `durable`: then blobs go to `<dir>/blobs` and the state store is the command's default
 * (`serve`: sqlite at `.flowrun/state.db` in its working directory).
 */
export async function createWorkspace(options: { durable?: boolean } = {}): Promise<Workspace> {
  const dir = await makeTempDir('serve');
  const config = join(dir, 'flowrun.yaml');
  await writeFile(
    config,
    `plugins:
  t: { type: stepflow, command: node, args: [${JSON.stringify(GATE_SERVER)}] }
routes:
  "/t/{*component}": [{ plugin: t }]
${options.durable ? 'blobStore: { type: filesystem, path: blobs }' : 'blobStore: { type: memory }\nstateStore: { type: memory }'}
`,
  );
  const echoFlow = join(dir, 'echo.yaml');
  await writeFile(echoFlow, stringify(ECHO_FLOW));
  const gateFlow = join(dir, 'gate.yaml');
  await writeFile(gateFlow, stringify(GATE_FLOW));
  return { dir, config, echoFlow, gateFlow, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The echo flow, as submitted inline (and written to `echo.yaml`). */
export const ECHO_FLOW = {
  name: 'echo',
  steps: [{ id: 'e', component: '/t/echo', input: { $input: '$' } }],
  output: { $step: 'e' },
};

/** The gate flow, as submitted inline (and written to `gate.yaml`). */
export const GATE_FLOW = {
  name: 'gated',
  steps: [{ id: 'g', component: '/t/gate', input: { $input: '$' } }],
  output: { $step: 'g' },
};
