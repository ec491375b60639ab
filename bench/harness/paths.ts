import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ackstateMain = path.join(repoRoot, 'dist/main.js');
export const resultsDir = path.join(repoRoot, 'bench/results');
