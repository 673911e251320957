// Runs the glassbox CLI from src/ (through tsx), so the CLI tests need no build: node --import tsx cli-entry.ts ARGS
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
