// The TypeScript declarations compile under --strict with the usage in types/usage.ts, and
// `npm pack` ships them with the sources and nothing else.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');

test('index.d.ts type-checks a typical use under --strict', async () => {
  const tsc = path.join(repo, 'node_modules/typescript/bin/tsc');
  const result = await run(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
    '--moduleResolution', 'nodenext', path.join(here, 'types/usage.ts')]).catch((e) => e);
  assert.equal(result.code ?? 0, 0, `${result.stdout}${result.stderr}`);
});

test('npm pack ships the sources, the declarations, the README and the licence', async () => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json'], { cwd: path.resolve(here, '..') });
  const files = JSON.parse(stdout)[0].files.map((f) => f.path).sort();
  assert.ok(files.includes('index.d.ts') && files.includes('src/index.js') && files.includes('package.json') && files.includes('LICENSE'), files.join());
  assert.deepEqual(files.filter((f) => f.startsWith('tests/')), []);
});
