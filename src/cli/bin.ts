#!/usr/bin/env node
import { main } from './main.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Exit on our own once everything is closed; if a stray handle keeps the loop alive, do not hang.
setTimeout(() => process.exit(code), 2000).unref();
