/**
 * The public surface of ackstate, read with the TypeScript compiler API:
 * - the example application (src/main.ts, src/app/) uses ackstate only through its public entry;
 * - every export of src/index.ts is documented where it is declared, the contract types with an example;
 * - the declarations a user compiles against (dist/index.d.ts and every .d.ts of the package it reaches)
 *   contain no `any`, and import only packages that the package's `dependencies` bring along.
 * The last two read dist/: `npm test` builds before ava, so a missing build fails clearly here.
 */
import { isBuiltin } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import ts from 'typescript';
import { filesUnder, moduleSpecifiers, parse } from './support/module-imports.js';
import { repoRoot } from './support/service-process.js';

const srcDir = path.join(repoRoot, 'src');
const appDir = path.join(srcDir, 'app');
const mainFile = path.join(srcDir, 'main.ts');
const distDir = path.join(repoRoot, 'dist');
const distEntry = path.join(distDir, 'index.d.ts');
const relative = (file: string) => path.relative(repoRoot, file);

interface Manifest {
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}
const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as Manifest;

/** The package a bare specifier names (`@scope/name` or `name`), or undefined when it is not bare. */
function packageOf(specifier: string): string | undefined {
  const match = /^((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*)(?:\/.*)?$/i.exec(specifier);
  return match?.[1];
}

const declared = new Set([
  ...Object.keys(manifest.dependencies ?? {}),
  ...Object.keys(manifest.devDependencies ?? {}),
  ...Object.keys(manifest.peerDependencies ?? {}),
]);

/** Why an import of the example application is not allowed, or undefined when it is. */
function importProblem(file: string, specifier: string): string | undefined {
  if (specifier === 'ackstate') return undefined;
  if (specifier.startsWith('node:')) {
    return isBuiltin(specifier) ? undefined : 'not a Node.js builtin';
  }
  if (specifier.startsWith('./') || specifier.startsWith('../')) {
    const target = path.resolve(path.dirname(file), specifier);
    return target.startsWith(appDir + path.sep) ? undefined : `reaches ${relative(target)}, outside src/app/`;
  }
  if (specifier.startsWith('ackstate/')) return 'a path into ackstate, not its entry';
  if (isBuiltin(specifier)) return `a Node.js builtin without node: (node:${specifier})`;
  const name = packageOf(specifier);
  if (name === undefined) return 'neither ackstate, node:, a package nor a relative path inside src/app/';
  if (!declared.has(name)) return `package ${name} is not declared in package.json`;
  return undefined;
}

test('the import checker rejects what it should', (t) => {
  const appFile = path.join(appDir, 'user/user-service.ts');
  const problems = (file: string, specifiers: string[]) => specifiers.filter((each) => importProblem(file, each));
  t.deepEqual(
    problems(appFile, [
      'ackstate',
      'node:crypto',
      'kysely',
      'zod',
      'fastify',
      '../config.js',
      './migrations.js',
      'ackstate/dist/index.js',
      '../../index.js',
      '../../db/database.js',
      '/work/src/index.js',
      'fs',
      'node:nonsense',
      'left-pad',
      '#internal',
    ]),
    [
      'ackstate/dist/index.js',
      '../../index.js',
      '../../db/database.js',
      '/work/src/index.js',
      'fs',
      'node:nonsense',
      'left-pad',
      '#internal',
    ],
  );
  t.deepEqual(problems(mainFile, ['./app/config.js', './index.js', './api/options.js']), [
    './index.js',
    './api/options.js',
  ]);
});

test('the application imports ackstate only through its public entry', (t) => {
  const files = [mainFile, ...filesUnder(appDir, (name) => name.endsWith('.ts'))];
  t.true(files.length > 5, `found only ${files.length} files of the application`);
  const offenders: string[] = [];
  let ackstateImports = 0;
  for (const file of files) {
    for (const { specifier, line } of moduleSpecifiers(parse(file))) {
      if (specifier === 'ackstate') ackstateImports += 1;
      const problem = importProblem(file, specifier);
      if (problem !== undefined) offenders.push(`${relative(file)}:${line} imports '${specifier}': ${problem}`);
    }
  }
  t.true(ackstateImports > 0, "no file of the application imports 'ackstate': the scan found nothing");
  t.deepEqual(offenders, [], `imports past the public entry:\n${offenders.join('\n')}`);
});

/** A program over an entry (src/index.ts by default) with the repo's own options (its `paths`, its strictness). */
function sourceProgram(entryName = 'index.ts'): { program: ts.Program; entry: ts.SourceFile } {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(repoRoot, 'tsconfig.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!config) throw new Error('tsconfig.json could not be read');
  const entryFile = path.join(srcDir, entryName);
  const program = ts.createProgram([entryFile], { ...config.options, noEmit: true });
  const entry = program.getSourceFile(entryFile);
  if (!entry) throw new Error(`src/${entryName} is not in the program`);
  return { program, entry };
}

const contractTypes = ['ServiceSpec', 'ConsumerSpec', 'RuntimeOptions', 'Runtime', 'Publisher', 'Destination'];

/** The exports of an entry that have no JSDoc comment where they are declared, and those with an @example. */
function documentationOf(entryName: string) {
  const { program, entry } = sourceProgram(entryName);
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(entry);
  if (!moduleSymbol) throw new Error(`src/${entryName} is not a module`);
  const exports = checker.getExportsOfModule(moduleSymbol);
  const undocumented: string[] = [];
  const withExample = new Set<string>();
  for (const exported of exports) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declarations = symbol.declarations ?? [];
    const documented = declarations.filter((declaration) =>
      ts.getJSDocCommentsAndTags(declaration).some((doc) => ts.isJSDoc(doc) && ts.getTextOfJSDocComment(doc.comment)),
    );
    const text = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
    if (declarations.length === 0 || documented.length === 0 || text === '') {
      const where = declarations[0] ? relative(declarations[0].getSourceFile().fileName) : 'no declaration';
      undocumented.push(`${exported.name} (${where})`);
    }
    if (symbol.getJsDocTags(checker).some((tag) => tag.name === 'example')) withExample.add(exported.name);
  }
  return { exportedNames: new Set(exports.map((each) => each.name)), undocumented, withExample };
}

test('every export of src/index.ts is documented, the contract types with an @example', (t) => {
  const { exportedNames, undocumented, withExample } = documentationOf('index.ts');
  t.true(exportedNames.size > 10, `src/index.ts exports only ${exportedNames.size} names`);
  t.deepEqual(undocumented, [], `exports without a JSDoc comment at their declaration:\n${undocumented.join('\n')}`);
  const notExported = contractTypes.filter((name) => !exportedNames.has(name));
  t.deepEqual(notExported, [], 'contract types missing from src/index.ts');
  const withoutExample = contractTypes.filter((name) => exportedNames.has(name) && !withExample.has(name));
  t.deepEqual(withoutExample, [], 'contract types without an @example in their JSDoc');
});

const actorContractTypes = ['ActorSpec', 'ActorEventSourceSpec', 'SimulatedActor'];

test('every export of src/durable-actors.ts (ackstate/actors) is documented, the contract types with an @example', (t) => {
  const { exportedNames, undocumented, withExample } = documentationOf('durable-actors.ts');
  t.true(exportedNames.has('defineActor') && exportedNames.has('simulateActor'), 'the entry exports its functions');
  t.deepEqual(undocumented, [], `exports without a JSDoc comment at their declaration:\n${undocumented.join('\n')}`);
  const withoutExample = actorContractTypes.filter((name) => !exportedNames.has(name) || !withExample.has(name));
  t.deepEqual(withoutExample, [], 'actor contract types missing or without an @example in their JSDoc');
});

/** The package's own declaration files that dist/index.d.ts reaches, with the program that reached them. */
function distDeclarations(): { program: ts.Program; files: ts.SourceFile[] } {
  if (!existsSync(distEntry)) {
    throw new Error('dist/index.d.ts is missing: build first (npm test runs npm run build before ava)');
  }
  const program = ts.createProgram([distEntry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    types: ['node'],
  });
  const files = program.getSourceFiles().filter((file) => path.resolve(file.fileName).startsWith(distDir + path.sep));
  return { program, files };
}

/**
 * Every `any` type in the syntax tree, wherever it stands (`: any`, `<any>`, `any[]`, `as any`, and also
 * `Record<string, any>`, `(x: any) => …`), and not the word in comments, strings or names: a stricter form of
 * a text scan for those four patterns.
 */
function anyTypesIn(file: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (node.kind === ts.SyntaxKind.AnyKeyword) {
      const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
      found.push(`${relative(file.fileName)}:${line + 1}: ${file.text.split('\n')[line]!.trim()}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

test('the any finder finds what it should', (t) => {
  const text = [
    '/** Takes any value: any at all. */',
    'export declare function f(a: any): Record<string, any>;',
    "export type T = { readonly any: 'any' };",
    'export declare const list: any[];',
    'export type K = Kysely<any>;',
  ].join('\n');
  const file = ts.createSourceFile(path.join(distDir, 'x.d.ts'), text, ts.ScriptTarget.Latest, true);
  t.deepEqual(
    anyTypesIn(file).map((leak) => leak.replace(/^dist\/x\.d\.ts:/, '')),
    [
      '2: export declare function f(a: any): Record<string, any>;',
      '2: export declare function f(a: any): Record<string, any>;',
      '4: export declare const list: any[];',
      '5: export type K = Kysely<any>;',
    ],
  );
});

test('the declarations a user compiles against have no any', (t) => {
  const { files } = distDeclarations();
  t.true(
    files.some((file) => path.resolve(file.fileName) === distEntry),
    'dist/index.d.ts is not in the program',
  );
  t.true(files.length > 5, `dist/index.d.ts reaches only ${files.length} declaration files`);
  t.log(`${files.length} declaration files reached: ${files.map((file) => relative(file.fileName)).join(', ')}`);
  const leaks = files.flatMap(anyTypesIn);
  t.deepEqual(leaks, [], `any in the public declarations:\n${leaks.join('\n')}`);
});

test('the declarations import only packages the package depends on, with their types', (t) => {
  const { program, files } = distDeclarations();
  const dependencies = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ]);
  const problems: string[] = [];
  for (const file of files) {
    for (const { specifier, line } of moduleSpecifiers(file)) {
      if (specifier.startsWith('.')) continue;
      const where = `${relative(file.fileName)}:${line} imports '${specifier}'`;
      // A user's project brings its own Node.js types (@types/node); a library need not pin them.
      if (isBuiltin(specifier)) continue;
      const name = packageOf(specifier);
      if (name === undefined) {
        problems.push(`${where}: not a package name`);
        continue;
      }
      if (!dependencies.has(name)) problems.push(`${where}: ${name} is not in dependencies`);
      const resolved = ts.resolveModuleName(specifier, file.fileName, program.getCompilerOptions(), ts.sys);
      const typesAt = resolved.resolvedModule?.resolvedFileName;
      if (typesAt === undefined || !/\.d\.[cm]?ts$/.test(typesAt)) {
        problems.push(`${where}: no declarations found (the user gets any)`);
        continue;
      }
      const typesPackage = /node_modules\/(@types\/[^/]+)\//.exec(typesAt)?.[1];
      if (typesPackage !== undefined && !dependencies.has(typesPackage)) {
        problems.push(`${where}: its types come from ${typesPackage}, which is not in dependencies`);
      }
    }
  }
  t.deepEqual(problems, [], `declarations a user's compiler cannot resolve from the package:\n${problems.join('\n')}`);
});
