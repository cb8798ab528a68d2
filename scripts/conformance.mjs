#!/usr/bin/env node
// Keeps docs/conformance.md current: its Tests column lists, per rule, the test files that name the rule as
// `(CONFORMANCE n)` (also `CONFORMANCE 58, 59`). `node scripts/conformance.mjs` rewrites the column;
// `--check` exits 1 when the file is out of date or a rule has no test (the test suite runs it).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const docPath = join(root, 'docs', 'conformance.md');

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

/** Rule number → the test files (relative, sorted) that name it. */
function citations() {
  const byRule = new Map();
  for (const file of testFiles(join(root, 'test'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/CONFORMANCE ((?:\d+)(?:, \d+)*)/g)) {
      for (const n of m[1].split(', ')) {
        const set = byRule.get(Number(n)) ?? new Set();
        set.add(relative(root, file));
        byRule.set(Number(n), set);
      }
    }
  }
  return byRule;
}

const byRule = citations();
const before = readFileSync(docPath, 'utf8');
const missing = [];
// A row: | n | rule | source | tests | (rule and source may hold escaped pipes, `\|`).
const after = before.replace(/^\| (\d+) \| ((?:[^|\\]|\\.)*?) \| ((?:[^|\\]|\\.)*?) \|[^\n]*\|$/gm, (_line, n, rule, source) => {
  const files = [...(byRule.get(Number(n)) ?? [])].sort();
  if (!files.length) missing.push(Number(n));
  return `| ${n} | ${rule} | ${source} | ${files.map((f) => `\`${f}\``).join('<br>')} |`;
});

if (process.argv.includes('--check')) {
  const problems = [];
  if (after !== before) problems.push('docs/conformance.md is out of date: run node scripts/conformance.mjs');
  if (missing.length) problems.push(`rules without a test: ${missing.join(', ')}`);
  if (problems.length) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
} else {
  writeFileSync(docPath, after);
  console.log(`docs/conformance.md: ${byRule.size} rules cited by tests${missing.length ? `; without a test: ${missing.join(', ')}` : ''}`);
}
