/**
 * The live page's script as the browser gets it. `npm run build` compiles `browser/app.ts` beside this
 * module (`dist/viz/live/browser/app.js`); run from the sources (the tests, tsx), there is no build beside
 * it, so the source is transpiled here by TypeScript, a dev dependency, present wherever the sources are.
 */
import { readFile } from 'node:fs/promises';

const built = new URL('./browser/app.js', import.meta.url);
const source = new URL('./browser/app.ts', import.meta.url);
const runFromSources = import.meta.url.endsWith('.ts');

async function transpiled(): Promise<string> {
  const { default: ts } = await import('typescript');
  const { outputText } = ts.transpileModule(await readFile(source, 'utf8'), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
  });
  return outputText;
}

/** Reads (or, from the sources, transpiles) the page's script: an ES module, served as `/viz/app.js`. */
export async function loadBrowserScript(): Promise<string> {
  return runFromSources ? transpiled() : readFile(built, 'utf8');
}
