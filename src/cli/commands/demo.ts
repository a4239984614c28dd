import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { rm } from 'node:fs/promises';
import { runDemo, type DemoStep } from '../../demo/run-demo.ts';
import { globalsOf } from '../context.ts';
import { reporterFor } from '../repository-access.ts';
import { formatBytes, formatDuration } from '../reporter.ts';
import type { RegisterCommand } from './index.ts';

/** `hbr demo`: the whole job on a generated sample, no setup needed. */
export const registerDemo: RegisterCommand = (program, ctx) => {
  program
    .command('demo')
    .description(
      'back up a generated sample of the platform storage, change it, back up again, verify, restore and compare',
    )
    .option(
      '--dir <dir>',
      "workspace folder: new, empty, or an earlier demo's (replaced)",
      join(tmpdir(), 'hbr-demo'),
    )
    .option('--keep', 'keep the workspace afterwards')
    .action(async (flags, command) => {
      const globals = globalsOf(command);
      const reporter = reporterFor(ctx, globals);
      const workspace = resolve(ctx.cwd, flags.dir);
      const lines: string[] = [];
      const steps = await runDemo(
        workspace,
        (step) => {
          const line = _describe(step);
          lines.push(line);
          if (!globals.json) ctx.stdout.write(`${line}\n`);
        },
        ctx.signal,
      );
      if (!flags.keep) await rm(workspace, { recursive: true, force: true });
      const b1 = steps.find((s) => s.step === 'backup 1')?.detail;
      const b2 = steps.find((s) => s.step === 'backup 2')?.detail;
      const stored = Number(b1?.added ?? 0) + Number(b2?.added ?? 0);
      const logical = Number(b1?.bytes ?? 0) + Number(b2?.bytes ?? 0);
      reporter.summary({ workspace, kept: Boolean(flags.keep), steps }, [
        `Two backups of ${formatBytes(logical)} in all are stored in ${formatBytes(stored)} (${(logical / Math.max(1, stored)).toFixed(2)}x less, after dedup and compression).`,
        `Every blob was verified and every restored file matches the source.${flags.keep ? ` Workspace kept in ${workspace}.` : ''}`,
      ]);
      reporter.done();
    });
};

// --- internal ---

function _describe(step: DemoStep): string {
  const d = step.detail;
  const time = formatDuration(step.durationMs).padStart(8);
  switch (step.step) {
    case 'generate sample':
      return `${time}  generated a sample of the platform's storage: ${d.files} files, ${formatBytes(Number(d.bytes))} (models, JSON artifacts, config)`;
    case 'create repository':
      return `${time}  created an encrypted repository in ${String(d.path)}`;
    case 'backup 1':
    case 'backup 2':
      return `${time}  ${step.step}: ${String(d.id)}: ${d.new} new, ${d.changed} changed, ${d.unchanged} unchanged files; read ${formatBytes(Number(d.read))}, added ${formatBytes(Number(d.added))} of ${formatBytes(Number(d.bytes))}`;
    case 'change files':
      return `${time}  changed ${d.changed} files (a fine-tuned model, edited artifacts) and added ${d.added}`;
    case 'check --read-data':
      return `${time}  verified every blob: ${d.packs} packs, ${formatBytes(Number(d.bytes))} read, no errors`;
    case 'restore':
      return `${time}  restored backup 2 into a scratch folder: ${d.files} files, ${formatBytes(Number(d.bytes))}, each verified`;
    case 'compare':
      return `${time}  compared all ${d.files} restored files with the source: identical`;
    default:
      return `${time}  ${step.step}`;
  }
}
