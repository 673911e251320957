// Runs the glassbox CLI from source (through tsx), for the train/predict CLI tests.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
