/**
 * The TypeScript in the documentation compiles: every fenced ```ts (or ```typescript) block of README.md
 * and docs/**\/*.md is written to a folder of this test's own inside the repo and type-checked with the
 * repo's compiler and a tsconfig extending the repo's, so `'ackstate'` resolves through its `paths` to
 * src/index.ts, strictly. A block fenced as ```ts ignore is skipped; README's first block may not be.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { repoRoot } from './support/service-process.js';

interface Block {
  /** The Markdown file, relative to the repo. */
  readonly source: string;
  /** The line of the opening fence (1-based); the block's first line is the next one. */
  readonly line: number;
  readonly ignored: boolean;
  readonly code: string;
}

const typescriptTags = new Set(['ts', 'typescript']);

/** The fenced TypeScript blocks of a Markdown text (CommonMark fences: ``` or ~~~, up to 3 spaces in). */
function typescriptBlocks(source: string, text: string): Block[] {
  const lines = text.split(/\r?\n/);
  const blocks: Block[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const opening = /^( {0,3})(`{3,}|~{3,})\s*([^`]*)$/.exec(lines[index]!);
    if (!opening) continue;
    const [, indent, fence, info] = opening as unknown as [string, string, string, string];
    const closing = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    const body: string[] = [];
    let end = index + 1;
    while (end < lines.length && !closing.test(lines[end]!)) {
      const line = lines[end]!;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
      end += 1;
    }
    const [language = '', ...flags] = info.trim().split(/[\s,{}]+/);
    if (typescriptTags.has(language.toLowerCase())) {
      blocks.push({ source, line: index + 1, ignored: flags.includes('ignore'), code: body.join('\n') });
    }
    index = end;
  }
  return blocks;
}

function markdownFiles(): string[] {
  const files = [path.join(repoRoot, 'README.md')];
  const docs = path.join(repoRoot, 'docs');
  if (existsSync(docs)) {
    files.push(
      ...readdirSync(docs, { withFileTypes: true, recursive: true })
        .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
        .map((entry) => path.join(entry.parentPath, entry.name))
        .sort(),
    );
  }
  return files;
}

test('the fence reader finds TypeScript blocks and their ignore flag', (t) => {
  const text = [
    '# Title', // 1
    '```ts', // 2
    'const a = 1;', // 3
    '```', // 4
    '```sh', // 5
    'npm test', // 6
    '```', // 7
    '````typescript ignore', // 8
    '```ts', // 9
    'not closed by the shorter fence', // 10
    '````', // 11
    '  ~~~ts', // 12
    '  const b = 2;', // 13
    '  ~~~', // 14
    '```tsx', // 15
    'const c = <div />;', // 16
    '```', // 17
  ].join('\n');
  t.deepEqual(typescriptBlocks('x.md', text), [
    { source: 'x.md', line: 2, ignored: false, code: 'const a = 1;' },
    { source: 'x.md', line: 8, ignored: true, code: '```ts\nnot closed by the shorter fence' },
    { source: 'x.md', line: 12, ignored: false, code: 'const b = 2;' },
  ]);
});

test('every TypeScript block of README.md and docs/ compiles', async (t) => {
  t.timeout(4 * 60_000);
  const blocks: Block[] = [];
  for (const file of markdownFiles()) {
    blocks.push(...typescriptBlocks(path.relative(repoRoot, file), await readFile(file, 'utf8')));
  }
  const checked = blocks.filter((block) => !block.ignored);
  t.log(`${blocks.length} TypeScript blocks, ${checked.length} to compile, ${blocks.length - checked.length} ignored`);

  const readmeBlocks = blocks.filter((block) => block.source === 'README.md');
  if (readmeBlocks.length === 0) return t.fail('README.md has no ```ts block: its first one must show ackstate in use');
  t.false(
    readmeBlocks[0]!.ignored,
    `README.md's first ts block (line ${readmeBlocks[0]!.line}) must compile, not be ignored`,
  );

  // The folder is inside the repo so that the repo's tsconfig, its paths and its node_modules apply.
  const folder = path.join(repoRoot, 'test', `.snippets-${randomBytes(4).toString('hex')}`);
  await mkdir(folder);
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  const fileOf = new Map<string, Block>();
  for (const block of checked) {
    const name = `${block.source.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-L${block.line}.ts`;
    fileOf.set(name, block);
    // `export {}` makes each block a module of its own: names in one block do not clash with another's.
    await writeFile(path.join(folder, name), `${block.code}\nexport {};\n`);
  }
  // A probe: 'ackstate' resolves to the sources, and the check is strict (an implicit any is an error).
  await writeFile(
    path.join(folder, 'probe.ts'),
    [
      "import { defineConsumer, startRuntime, type RuntimeOptions } from 'ackstate';",
      'export const probe: [typeof defineConsumer, typeof startRuntime, RuntimeOptions | undefined] = [',
      '  defineConsumer,',
      '  startRuntime,',
      '  undefined,',
      '];',
      '// @ts-expect-error: strict mode rejects the implicit any',
      'export function loose(value) {',
      '  return value;',
      '}',
      '',
    ].join('\n'),
  );
  await writeFile(
    path.join(folder, 'tsconfig.json'),
    JSON.stringify(
      // The sources' ambient declarations (src/types) come along, as they do in the repo's own check.
      {
        extends: '../../tsconfig.json',
        compilerOptions: { noEmit: true },
        include: ['*.ts', '../../src/types/**/*.d.ts'],
      },
      null,
      2,
    ),
  );

  const tsc = path.join(repoRoot, 'node_modules/.bin/tsc');
  const result = await new Promise<{ code: number | string; output: string }>((resolve) => {
    execFile(
      tsc,
      ['-p', path.join(folder, 'tsconfig.json'), '--pretty', 'false'],
      { cwd: repoRoot, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : (error.signal ?? 'failed');
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
  // Errors point at the Markdown: `README.md:123: error TS2304: …` for line 123 of README.md.
  const report = result.output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const match = /^(?:.*[/\\])?([^/\\(]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line);
      const block = match && fileOf.get(match[1]!);
      return block && match ? `${block.source}:${block.line + Number(match[2])}:${match[3]}: ${match[4]}` : line;
    });
  t.is(result.code, 0, `the documentation's TypeScript does not compile:\n${report.join('\n')}`);
});
