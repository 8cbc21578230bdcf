#!/usr/bin/env node
import { buildCli } from './cli/index.ts';

await (await buildCli(process.argv)).parseAsync(process.argv);
