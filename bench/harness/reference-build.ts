/**
 * Compiles the reference pipelines (bench/reference/**) to plain
 * JavaScript once per bench run, so that they run as `node main.js` without a TypeScript loader, as
 * ackstate runs from dist/. The output goes under node_modules/.cache (ignored by git) so that `amqplib`
 * and `pg` resolve from the project.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import { repoRoot } from './paths.js';

export const buildOutDir = path.join(repoRoot, 'node_modules/.cache/ackstate-bench');

export interface BuiltScripts {
  readonly unbatchedReference: string;
  readonly batchedReference: string;
  /** `--baseline DIR`: DIR/dist/main.js, run by the baseline variants. */
  readonly baselineMain?: string;
}

async function transpileTree(sourceDir: string, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  for (const entry of await readdir(sourceDir, { withFileTypes: true })) {
    const source = path.join(sourceDir, entry.name);
    if (entry.isDirectory()) {
      await transpileTree(source, path.join(outDir, entry.name));
      continue;
    }
    if (!entry.name.endsWith('.ts')) continue;
    const { outputText, diagnostics } = ts.transpileModule(await readFile(source, 'utf8'), {
      fileName: entry.name,
      reportDiagnostics: true,
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
    });
    if (diagnostics && diagnostics.length > 0) {
      const problem = ts.flattenDiagnosticMessageText(diagnostics[0]!.messageText, '\n');
      throw new Error(`${path.relative(repoRoot, source)}: ${problem}`);
    }
    await writeFile(path.join(outDir, entry.name.replace(/\.ts$/, '.js')), outputText);
  }
}

export async function buildScripts(): Promise<BuiltScripts> {
  await rm(buildOutDir, { recursive: true, force: true });
  await mkdir(buildOutDir, { recursive: true });
  await writeFile(path.join(buildOutDir, 'package.json'), '{ "type": "module" }\n');
  await transpileTree(path.join(repoRoot, 'bench/reference'), path.join(buildOutDir, 'reference'));
  return {
    unbatchedReference: path.join(buildOutDir, 'reference/unbatched/main.js'),
    batchedReference: path.join(buildOutDir, 'reference/batched/main.js'),
  };
}
