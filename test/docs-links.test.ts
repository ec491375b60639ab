// Nothing in the docs points nowhere: every relative link of README.md, the docs/ pages, CHANGELOG.md,
// SECURITY.md and the examples' READMEs names a file that exists, and every #anchor a heading of its page.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { repoRoot } from './support/service-process.js';

/** GitHub's anchor of a heading: lower case, punctuation dropped (hyphens kept), spaces as hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');
}

function withoutCode(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchorOf(match[1]!)));
}

function markdownFiles(): string[] {
  const docs = readdirSync(path.join(repoRoot, 'docs'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => path.join(entry.parentPath, entry.name));
  const examples = readdirSync(path.join(repoRoot, 'examples'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(repoRoot, 'examples', entry.name, 'README.md'))
    .filter((file) => existsSync(file));
  return [
    ...['README.md', 'CHANGELOG.md', 'SECURITY.md'].map((file) => path.join(repoRoot, file)),
    ...docs,
    ...examples,
  ];
}

test('the anchor of a heading is the one GitHub gives it', (t) => {
  t.is(anchorOf('Dead letters: `ackstate dlq`'), 'dead-letters-ackstate-dlq');
  t.is(
    anchorOf('Outages: recognised by their code and by their effect'),
    'outages-recognised-by-their-code-and-by-their-effect',
  );
  t.is(anchorOf('RabbitMQ 4.x'), 'rabbitmq-4x');
});

test('every relative link and anchor in the docs resolves', (t) => {
  const broken: string[] = [];
  for (const file of markdownFiles()) {
    const text = withoutCode(readFileSync(file, 'utf8'));
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z+.-]*:/i.test(target!)) continue;
      const [target_path, anchor] = target!.split('#') as [string, string | undefined];
      const resolved = target_path === '' ? file : path.resolve(path.dirname(file), target_path);
      const where = `${path.relative(repoRoot, file)}: ${target}`;
      if (!existsSync(resolved)) broken.push(`${where} (no such file)`);
      else if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor)) {
        broken.push(`${where} (no such heading)`);
      }
    }
  }
  t.deepEqual(broken, []);
});
