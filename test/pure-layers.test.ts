/**
 * The machines, the policies and the durable actors' core are pure: `src/machines/` holds machine
 * definitions that the visualizer draws and unit tests run with stubs, `src/policies/` holds rules with no
 * I/O, `src/durable/` the step of a durable actor and its test kit. Their files may import XState, each
 * other and `src/redact.ts`, and nothing else: no Node.js module, no driver, no actor. Two exceptions, which
 * compute and touch nothing: amqplib's table encoder (`policies/header-table.ts` asks it whether a header
 * table can be published, exactly as the publish would encode it), and types (`import type`, erased when
 * compiled) of the public API in `src/api/`, which `src/durable/` takes definitions in.
 */
import path from 'node:path';
import test from 'ava';
import ts from 'typescript';
import { filesUnder, moduleSpecifiers, parse } from './support/module-imports.js';
import { repoRoot } from './support/service-process.js';

const srcDir = path.join(repoRoot, 'src');
const pureDirs = ['machines', 'policies', 'durable'].map((dir) => path.join(srcDir, dir));
const pureFiles = [path.join(srcDir, 'redact.ts')];
const allowedPackages = new Set(['xstate', 'amqplib/lib/codec.js']);
const apiDir = path.join(srcDir, 'api');

/** Why `specifier`, imported by `file`, breaks the layer; undefined when it does not. */
function impurity(file: string, specifier: string, typeOnly: boolean): string | undefined {
  if (!specifier.startsWith('.')) {
    return allowedPackages.has(specifier) ? undefined : `imports the package or module ${specifier}`;
  }
  const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
  const pure = pureDirs.some((dir) => target.startsWith(`${dir}${path.sep}`)) || pureFiles.includes(target);
  if (pure || (typeOnly && target.startsWith(`${apiDir}${path.sep}`))) return undefined;
  return `imports ${path.relative(srcDir, target)}, outside the pure layers`;
}

/** The lines of the imports that bring only types (`import type { A }`, `import { type A, type B }`). */
function typeOnlyImportLines(source: ts.SourceFile): Set<number> {
  const lines = new Set<number>();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || statement.importClause === undefined) continue;
    const clause = statement.importClause;
    const bindings = clause.namedBindings;
    const everyNameIsType =
      clause.name === undefined &&
      bindings !== undefined &&
      ts.isNamedImports(bindings) &&
      bindings.elements.every((element) => element.isTypeOnly);
    if (clause.isTypeOnly || everyNameIsType) {
      lines.add(source.getLineAndCharacterOfPosition(statement.moduleSpecifier.getStart(source)).line + 1);
    }
  }
  return lines;
}

function impuritiesOf(file: string, source: ts.SourceFile): string[] {
  const typeOnly = typeOnlyImportLines(source);
  return moduleSpecifiers(source).flatMap(({ specifier, line }) => {
    const problem = impurity(file, specifier, typeOnly.has(line));
    return problem === undefined ? [] : [`${path.relative(repoRoot, file)}:${line} ${problem}`];
  });
}

test('the checker rejects I/O and other layers, and accepts XState and the pure layers', (t) => {
  const file = path.join(srcDir, 'machines', 'example.ts');
  const source = ts.createSourceFile(
    file,
    [
      "import { setup } from 'xstate';",
      "import { backoffMs } from '../policies/backoff.js';",
      "import { redact } from '../redact.js';",
      "import type { ConsumerContext } from './consumer.js';",
      "import pg from 'pg';",
      "import { readFileSync } from 'node:fs';",
      "import { probeWrite } from '../db/write-probe.js';",
      "export { consumerLogic } from '../actors/consumer/consumer.js';",
      "import type { Destination } from '../api/destination.js';",
      "import { defineActor } from '../api/actor.js';",
    ].join('\n'),
    ts.ScriptTarget.Latest,
    true,
  );
  t.deepEqual(impuritiesOf(file, source), [
    'src/machines/example.ts:5 imports the package or module pg',
    'src/machines/example.ts:6 imports the package or module node:fs',
    'src/machines/example.ts:7 imports db/write-probe.ts, outside the pure layers',
    'src/machines/example.ts:8 imports actors/consumer/consumer.ts, outside the pure layers',
    'src/machines/example.ts:10 imports api/actor.ts, outside the pure layers',
  ]);
});

test("src/machines, src/policies and src/durable import no I/O: only XState, amqplib's encoder, each other, redact and the API's types", (t) => {
  const files = pureDirs.flatMap((dir) =>
    filesUnder(dir, (name) => name.endsWith('.ts') && !name.endsWith('.test.ts')),
  );
  t.true(files.length > 10, 'the files were found');
  t.deepEqual(
    files.flatMap((file) => impuritiesOf(file, parse(file))),
    [],
  );
});
