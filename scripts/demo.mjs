// `npm run demo`: every walk-through of examples/, one after another, each against the development
// authorization server on loopback (nothing is fetched from outside the machine). Exits 0 when every step
// of every walk-through behaved as expected, non-zero naming the walk-through that did not.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const walkthroughs = [
  ['orders-api', 'JWT access tokens for this resource, scopes, RFC 6750 answers, opaque tokens by introspection'],
  ['opaque', 'opaque tokens by introspection: one AS call per token, revocation after the cache life'],
  ['uma-photos', 'UMA 2.0: resources registered at the AS, ticket → RPT → 200'],
  ['attribute-provider', 'an attribute provider serving OIDC distributed and aggregated claims'],
  ['express4', 'the same kit on Express 4'],
];
// `npm run demo -- --serve`: the orders API walk-through, then everything keeps running for curl.
if (process.argv.includes('--serve')) {
  const r = spawnSync(process.execPath, ['examples/orders-api/demo.mjs', '--serve'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const failed = [];
for (const [name, what] of walkthroughs) {
  console.log(`\n━━ examples/${name}: ${what}\n`);
  const r = spawnSync(process.execPath, [`examples/${name}/demo.mjs`], { cwd: root, stdio: 'inherit', timeout: 120_000 });
  if (r.status !== 0) failed.push(name);
}
if (failed.length) {
  console.error(`\ndemo FAILED in: ${failed.join(', ')}`);
  process.exit(1);
}
console.log(`\nevery walk-through behaved as expected (${walkthroughs.length} of ${walkthroughs.length})`);
