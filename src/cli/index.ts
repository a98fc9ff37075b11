#!/usr/bin/env node
import { processIo } from './io.js'
import { runCli } from './program.js'

process.exitCode = await runCli(process.argv, processIo())
