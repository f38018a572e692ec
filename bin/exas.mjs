#!/usr/bin/env node
// The `exas` command: runs the JavaScript that `npm install` (prepare) built from src/.
import { main } from '../dist/cli.mjs';

process.exitCode = await main(process.argv.slice(2));
