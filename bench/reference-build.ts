/**
 * Compiles bench/reference/*.ts to plain JavaScript once per bench run, so the reference runs as
 * `node main.js` without a TypeScript loader, as ackstate runs from dist/. The output goes under
 * node_modules/.cache (ignored by git) so that `amqplib` and `pg` resolve from the project.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import { repoRoot } from './paths.js';

export const referenceOutDir = path.join(repoRoot, 'node_modules/.cache/ackstate-bench/reference');

export async function buildReference(): Promise<string> {
  const sourceDir = path.join(repoRoot, 'bench/reference');
  await rm(referenceOutDir, { recursive: true, force: true });
  await mkdir(referenceOutDir, { recursive: true });
  await writeFile(path.join(referenceOutDir, 'package.json'), '{ "type": "module" }\n');
  for (const file of await readdir(sourceDir)) {
    if (!file.endsWith('.ts')) continue;
    const source = await readFile(path.join(sourceDir, file), 'utf8');
    const { outputText, diagnostics } = ts.transpileModule(source, {
      fileName: file,
      reportDiagnostics: true,
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        verbatimModuleSyntax: true,
      },
    });
    if (diagnostics && diagnostics.length > 0) {
      throw new Error(`bench/reference/${file}: ${ts.flattenDiagnosticMessageText(diagnostics[0]!.messageText, '\n')}`);
    }
    await writeFile(path.join(referenceOutDir, file.replace(/\.ts$/, '.js')), outputText);
  }
  return path.join(referenceOutDir, 'main.js');
}
