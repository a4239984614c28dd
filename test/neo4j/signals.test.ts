/**
 * Ctrl-C and SIGTERM while hbr holds a real Neo4j server down for neo4j-admin: the command stops
 * (exit 130) and the server is running again when it has. A terminal's Ctrl-C signals the
 * whole foreground process group, so the signal goes to hbr's group, children included.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hbr, HBR_BIN } from '../helpers/cli.ts';
import { createProvenanceGraph, startNeo4j, wipeGraph, type Neo4jTestInstance } from './helpers.ts';

describe('hbr interrupted while the neo4j server is down (real server)', () => {
  let neo: Neo4jTestInstance;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-neo4j-signals-'));
    neo = await startNeo4j('test-signals');
    await wipeGraph(neo.driver);
    await createProvenanceGraph(neo.driver, 2_000);
    await writeFile(join(dir, 'cred'), `${neo.bolt.user}\n${neo.bolt.password}\n`);
    await writeFile(
      join(dir, 'hbr.yaml'),
      [
        'repository:',
        `  path: ${join(dir, 'repo')}`,
        'sources:',
        '  - name: graph',
        '    neo4j:',
        `      home: ${neo.home}`,
        `      bolt: ${neo.bolt.url}`,
        '      database: neo4j',
        '      credentialFile: ./cred',
        '',
      ].join('\n'),
    );
    env = { HBR_CONFIG: join(dir, 'hbr.yaml'), HBR_PASSWORD: 'neo4j signals test' };
    assert.equal((await hbr(['init'], { env, cwd: dir })).code, 0);
  });
  after(async () => {
    await neo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal === 'SIGINT' ? 'SIGINT twice' : signal} to the process group during the downtime: exit 130, the server runs again`, async () => {
      if ((await neo.server.pid()) === undefined) await neo.server.start(); // a test before failed
      // Its own process group, as a shell gives a foreground job.
      const child = spawn(process.execPath, [HBR_BIN, 'backup', '--source', 'graph'], {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, HBR_TRACE_PHASES: '1' },
        detached: true,
      });
      let stderr = '';
      // Ended by its exit code, or by the signal raised again (128 + its number, as a shell says).
      const exited = new Promise<number | null>((resolve) =>
        child.on('close', (status, killedBy) =>
          resolve(status ?? (killedBy ? 128 + constants.signals[killedBy] : null)),
        ),
      );
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (stderr.includes('server exited')) resolve();
        });
        child.on('close', () => reject(new Error(`hbr ended before the stop:\n${stderr}`)));
      });
      process.kill(-child.pid!, signal);
      // Ctrl-C pressed twice: the second must not cut short the server's start.
      if (signal === 'SIGINT') {
        await new Promise((resolve) => setTimeout(resolve, 300));
        if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, signal);
      }
      // 130 (README), or the signal's own status when something left pending outlived the command.
      assert.ok([130, 128 + constants.signals[signal]].includes((await exited)!), stderr);
      // Nothing more is started after hbr ends: the server answers now, or it stays down.
      await neo.reconnect();
      const { records } = await neo.driver.executeQuery('RETURN 1 AS one');
      assert.equal(Number(records[0]?.get('one')), 1);
    });
  }
});
