/**
 * `mode: enterprise` through the hbr command line, without Neo4j Enterprise (its jars are not on
 * Maven Central): a real Neo4j Community server answers Bolt (version, counts) and is really
 * stopped and started for the restore; the real Community neo4j-admin is refused; and a small
 * shell stand-in plays Enterprise's `database backup` / `database restore` by their documented
 * contract. The stand-in refuses a DIFF when no earlier artifact of the database is in --to-path,
 * refuses a restore while the server runs, and follows the chain from the --from-path artifact
 * back to its full through the files beside it, so these tests fail if hbr does not materialise
 * the chain or stops nothing; its consistency check reads only a lone full artifact, so `hbr verify`
 * must aggregate a chain first. Against real Enterprise: enterprise-server.test.ts.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hbr, summaryOf } from '../helpers/cli.ts';
import {
  createProvenanceGraph,
  damageArtifact,
  startNeo4j,
  wipeGraph,
  type Neo4jTestInstance,
} from './helpers.ts';

describe('hbr with an enterprise neo4j source (Community server, stand-in neo4j-admin)', () => {
  let neo: Neo4jTestInstance;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const backups: Record<string, unknown>[] = [];
  const run = (...args: string[]) => hbr(args, { env, cwd: dir });
  const log = async () => (await readFile(join(dir, 'admin.log'), 'utf8')).trim().split('\n');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-neo4j-ent-'));
    neo = await startNeo4j('test-enterprise');
    await wipeGraph(neo.driver);
    await createProvenanceGraph(neo.driver, 500);
    await writeFile(join(dir, 'store'), randomBytes(2 << 20));
    await writeFile(join(dir, 'standin.sh'), standIn(dir, neo.version));
    await chmod(join(dir, 'standin.sh'), 0o755);
    await writeFile(join(dir, 'cred'), `${neo.bolt.user}\n${neo.bolt.password}\n`);
    const source = (name: string, admin: string) => `
  - name: ${name}
    neo4j:
      home: ${neo.home}
      bolt: ${neo.bolt.url}
      database: neo4j
      credentialFile: ./cred
      mode: enterprise${admin}
      enterprise:
        from: ["127.0.0.1:6362"]
        workDir: ./work
      checks:
        - name: first atom
          cypher: "MATCH (a:Atom {atomId: 0}) RETURN a.hash"
          expect: h0`;
    const standInAdmin = '\n      adminCommand: ./standin.sh';
    await writeFile(
      join(dir, 'hbr.yaml'),
      `repository:\n  path: ${join(dir, 'repo')}\nsources:${source('graph', standInAdmin)}${source('fresh', standInAdmin)}${source('community', '')}\n`,
    );
    env = { HBR_CONFIG: join(dir, 'hbr.yaml'), HBR_PASSWORD: 'neo4j enterprise test' };
    assert.equal((await run('init')).code, 0);
  });

  after(async () => {
    await neo?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the Community neo4j-admin is refused with what to use instead; nothing is stored or stopped', async () => {
    const pid = await neo.server.pid();
    const result = await run('backup', '--source', 'community');
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /neo4j-admin has no "database backup" command \(Neo4j Community Edition\)/,
    );
    assert.match(result.stderr, /use mode: dump \(offline\) or mode: logical/);
    assert.equal(await neo.server.pid(), pid);
    const list = await run('--json', 'backups');
    assert.doesNotMatch(list.stdout, /"source":"community"/);
  });

  test('--type diff with no earlier enterprise backup of the source is refused', async () => {
    const result = await run('backup', '--source', 'fresh', '--type', 'diff');
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /no earlier enterprise backup of neo4j, system .*take a full backup first/,
    );
  });

  test('the first backup is a full taken online: the server keeps running, the work folder is emptied', async () => {
    const pid = await neo.server.pid();
    const result = await run('--json', 'backup', '--source', 'graph');
    assert.equal(result.code, 0, result.stderr);
    const s = summaryOf(result);
    backups.push(s);
    assert.equal(s.mode, 'enterprise');
    assert.equal(s.type, 'full');
    assert.deepEqual(s.databases, ['neo4j', 'system']);
    assert.equal(s.downtimeMs, 0);
    assert.equal(await neo.server.pid(), pid, 'the server was never stopped');
    const facts = s.facts as Record<string, { labels: Record<string, number> }>;
    assert.equal(facts.neo4j?.labels.Atom, 500);
    const runs = (await log()).filter((l) => l.startsWith('database backup --from'));
    assert.equal(runs.length, 2);
    assert.match(
      runs[0]!,
      /^database backup --from=127\.0\.0\.1:6362 --to-path=\S+\/work\/hbr-run-\w+\/db-0 --type=FULL --compress=false neo4j$/,
    );
    assert.match(runs[1]!, /--type=FULL --compress=false system$/);
    assert.deepEqual(await readdir(join(dir, 'work')), []);
  });

  test('after a change, auto takes a differential on the chain restored from the repository', async () => {
    for (const atoms of [100, 50]) {
      await neo.driver.executeQuery(
        'UNWIND range(1, $n) AS i CREATE (:Atom {atomId: 100000 + i + $base, kind: "new", hash: "n"})',
        { n: atoms, base: backups.length * 1000 },
      );
      const result = await run('--json', 'backup', '--source', 'graph');
      assert.equal(result.code, 0, result.stderr);
      const s = summaryOf(result);
      backups.push(s);
      assert.equal(s.type, 'diff');
      // The full's bytes are stored again in every differential's backup (so each restores on
      // its own) but deduplicate: what is added is the small differential.
      assert.ok(
        Number(s.addedBytes) < Number(backups[0]!.addedBytes) / 10,
        `diff added ${String(s.addedBytes)} bytes, the full ${String(backups[0]!.addedBytes)}`,
      );
    }
    assert.match((await log()).at(-2)!, /--type=DIFF --compress=false neo4j$/);
    const list = await run('--json', 'backups');
    for (const [i, b] of backups.entries()) {
      const line = list.stdout.split('\n').find((l) => l.includes(String(b.backupId)));
      assert.ok(line, `backup ${i} listed`);
      if (i > 0) assert.match(line, new RegExp(`"parent":"${String(backups[i - 1]!.backupId)}"`));
    }
    assert.deepEqual(await readdir(join(dir, 'work')), []);
  });

  test('restore --dry-run lists the chain (full first) and the restore command, and stops nothing', async () => {
    const pid = await neo.server.pid();
    const result = await run('restore', '--source', 'graph', '--dry-run');
    assert.equal(result.code, 0, result.stderr);
    const chain = /materialise the chain of neo4j from backup \w+ into \S+: (.+)/.exec(
      result.stdout,
    );
    assert.ok(chain, result.stdout);
    const names = chain[1]!.split(' + ');
    assert.equal(names.length, 3);
    assert.match(
      result.stdout,
      new RegExp(
        `database restore --from-path=<scratch>/${names[2]!.replace(/\./g, '\\.')} --overwrite-destination=true neo4j`,
      ),
    );
    assert.doesNotMatch(result.stdout, /chain of system/, 'system only with --include-system');
    assert.match(result.stdout, /Cypher check first atom/);
    assert.equal(await neo.server.pid(), pid);
  });

  test('restore stops the server, restores the whole chain of the chosen backup offline, starts it and checks counts', async () => {
    const pid = await neo.server.pid();
    const result = await run('--json', 'restore', '--source', 'graph');
    assert.equal(result.code, 0, result.stderr);
    const s = summaryOf(result);
    assert.equal(s.countsOk, true);
    assert.equal(s.ok, true);
    const restored = (await log()).filter((l) => l.startsWith('RESTORED'));
    assert.equal(restored.length, 1);
    // Full, then both differentials, in order, all materialised beside each other.
    assert.match(restored[0]!, /^RESTORED neo4j neo4j-\S+ neo4j-\S+ neo4j-\S+$/);
    const names = restored[0]!.split(' ').slice(2);
    assert.deepEqual([...names].sort(), names);
    assert.notEqual(await neo.server.pid(), pid, 'the server was stopped and started again');
    assert.deepEqual(await readdir(join(dir, 'work')), []);
  });

  test('verify aggregates each chain into one full artifact and runs the consistency check on it', async () => {
    const result = await run('--json', 'verify', String(backups[2]!.backupId));
    assert.equal(result.code, 0, result.stderr);
    const s = summaryOf(result);
    assert.equal(s.ok, true);
    const dbs = s.databases as { database: string; method: string; ok: boolean }[];
    assert.deepEqual(
      dbs.map((d) => [d.database, d.method, d.ok]),
      [
        ['neo4j', 'consistency-check', true],
        ['system', 'consistency-check', true],
      ],
    );
    const lines = await log();
    assert.ok(lines.includes('AGGREGATED neo4j 3'), lines.join('\n'));
    assert.ok(lines.includes('AGGREGATED system 3'));
    assert.ok(lines.includes('CHECKED neo4j') && lines.includes('CHECKED system'));
  });

  test('a restore of an older backup materialises only its chain, and the count check reports the difference', async () => {
    // The stand-in restores no data, so the live graph keeps the later atoms: the counts recorded
    // with the first differential must not match, and the restore says so (exit 4).
    const result = await run(
      '--json',
      'restore',
      '--source',
      'graph',
      String(backups[1]!.backupId),
    );
    assert.equal(result.code, 4, result.stderr);
    const s = summaryOf(result);
    assert.equal(s.countsOk, false);
    assert.match(String(s.countsError), /restored neo4j differs from the backup's record/);
    const restored = (await log()).filter((l) => l.startsWith('RESTORED'));
    assert.match(restored.at(-1)!, /^RESTORED neo4j neo4j-\S+ neo4j-\S+$/);
  });

  test('a damaged full is found before anything stops: the restore of a later differential refuses', async () => {
    // The full's blobs are shared by every later backup of the chain (deduplicated), so damaging
    // the full's neo4j artifact damages the chain of the newest differential too.
    await damageArtifact(
      join(dir, 'repo'),
      String(env.HBR_PASSWORD),
      String(backups[0]!.backupId),
      /^neo4j-.*\.backup$/,
    );
    const pid = await neo.server.pid();
    const result = await run('restore', '--source', 'graph', String(backups[2]!.backupId));
    assert.equal(result.code, 4, result.stdout);
    assert.match(
      result.stderr,
      /artifact neo4j-\S+\.backup cannot be read back .*refusing to restore it/,
    );
    assert.equal(await neo.server.pid(), pid, 'the server was not stopped');
    const restored = (await log()).filter((l) => l.startsWith('RESTORED'));
    assert.equal(restored.length, 2, 'neo4j-admin restore did not run');
  });
});

/**
 * A stand-in for Neo4j Enterprise's neo4j-admin with every path baked in. FULL artifacts hold a
 * 2 MiB "store"; a DIFF names the artifact it follows on its first line.
 */
function standIn(dir: string, version: string): string {
  return `#!/usr/bin/env bash
set -euo pipefail
LOG=${join(dir, 'admin.log')}
echo "$*" >>"$LOG"
if [[ "\${1:-}" == "--version" ]]; then echo "${version}"; exit 0; fi
[[ "\${1:-}" == database ]] || { echo "stand-in: unsupported: $*" >&2; exit 2; }
sub=\${2:-}; shift 2
case $sub in backup|restore|aggregate-backup|check) ;; *) echo "stand-in: unsupported: $sub" >&2; exit 2;; esac
if [[ "\${1:-}" == "--help" ]]; then echo "Usage: neo4j-admin database $sub [-h] [options]"; exit 0; fi
to=; type=; from=; db=; overwrite=false
for a in "$@"; do
  case "$a" in
    --to-path=*) to=\${a#*=};; --type=*) type=\${a#*=};; --from-path=*) from=\${a#*=};;
    --overwrite-destination=true) overwrite=true;; --*) ;; *) db=$a;;
  esac
done
full() { echo "FULL $1"; cat ${join(dir, 'store')}; }
# The chain ending at artifact $1: file names, full first, all in $1's folder.
chain_of() {
  local f=$1 kind name base; chain=()
  while :; do
    [[ -f $f ]] || { echo "stand-in: chain broken: $f is missing" >&2; exit 1; }
    read -r kind name base <"$f"
    chain=("$(basename "$f")" "\${chain[@]}")
    [[ $kind == FULL ]] && break
    f="$(dirname "$1")/$base"
  done
  chaindb=$name
}
stamp() { date -u +%Y-%m-%dT%H-%M-%S.%N; }
case $sub in
backup)
  prev=$(cd "$to" && ls -1 -- "$db"-*.backup 2>/dev/null | sort | tail -n 1 || true)
  out="$to/$db-$(stamp).backup"
  case $type in
    FULL) full "$db" >"$out";;
    DIFF) [[ -n $prev ]] || { echo "stand-in: no backup of $db in $to to take a differential from" >&2; exit 1; }
          { echo "DIFF $db $prev"; head -c 3000 /dev/urandom | base64; } >"$out";;
    *) echo "stand-in: --type=$type" >&2; exit 1;;
  esac;;
restore)
  pidfile="$NEO4J_HOME/run/neo4j.pid"
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "stand-in: database $db is in use: stop the server first" >&2; exit 1
  fi
  [[ $overwrite == true ]] || { echo "stand-in: $db exists; give --overwrite-destination=true" >&2; exit 1; }
  chain_of "$from"
  echo "RESTORED $db \${chain[*]}" >>"$LOG";;
aggregate-backup)
  [[ -z $db ]] || { echo "stand-in: no database name with a file --from-path" >&2; exit 1; }
  chain_of "$from"
  folder=$(dirname "$from")
  out="$folder/$chaindb-$(stamp).backup"
  full "$chaindb" >"$out.tmp"
  for f in "\${chain[@]}"; do rm -- "$folder/$f"; done
  mv "$out.tmp" "$out"
  echo "AGGREGATED $chaindb \${#chain[@]}" >>"$LOG";;
check)
  arts=("$from/$db"-*.backup)
  [[ \${#arts[@]} == 1 && -f \${arts[0]} ]] || { echo "stand-in: expected one artifact of $db in $from" >&2; exit 2; }
  read -r kind _rest <"\${arts[0]}"
  [[ $kind == FULL ]] || { echo "stand-in: the checker cannot read a differential" >&2; exit 2; }
  echo "CHECKED $db" >>"$LOG";;
esac
`;
}
