#!/usr/bin/env node
import { main } from './main.js';

// `flowrun run … | head`: the reader left, so stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Exit on our own once everything is closed; if a stray handle keeps the loop alive, do not hang.
setTimeout(() => process.exit(code), 2000).unref();
