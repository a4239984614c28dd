import { setMaxListeners } from 'node:events';
import { Command, CommanderError } from '@commander-js/extra-typings';
import packageJson from '../../package.json' with { type: 'json' };
import { ConfigError, isHbrError, PlanError, UsageError } from '../errors.ts';
import { commands } from './commands/index.ts';
import type { CliContext } from './context.ts';
import { commandNameOf, deriveKeyForCommandLine } from './early-unlock.ts';
import { ExitCode, exitCodeFor } from './exit-codes.ts';
import { criticalWork } from '../util/critical-work.ts';
import { scavengeWithoutHelpers } from '../util/heap-sizing.ts';
import { withoutControls } from '../util/printable.ts';

// bin/hbr.js tells an interrupted command's code by it.
export { ExitCode } from './exit-codes.ts';

/**
 * Runs one hbr command line and returns the exit code. The only place that parses argv and
 * turns errors into exit codes; `bin/hbr.js` calls it with the real process, tests with their own
 * streams.
 */
export async function main(argv: string[], context?: Partial<CliContext>): Promise<number> {
  const controller = new AbortController();
  // Every request in flight listens to it (the AWS SDK once per attempt): a restore from S3, 16
  // reads at once, passed Node's limit of 10 and printed a MaxListenersExceededWarning, a leak
  // that was none. Each listener goes with its request.
  setMaxListeners(0, controller.signal);
  const ctx: CliContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
    isTTY: Boolean(process.stderr.isTTY),
    ...context,
  };
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    received = signal;
    if (!controller.signal.aborted) {
      controller.abort(new Error('interrupted'));
      return;
    }
    // A second one: the command did not stop (a store that never answers). It ends now, by the
    // signal raised again without this handler, unless it is starting a server it stopped.
    const pending = criticalWork();
    if (pending.length > 0) {
      ctx.stderr.write(
        `hbr: ${pending.join('; ')}: stopping once that is done (SIGKILL stops at once)\n`,
      );
      return;
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.kill(process.pid, signal);
  };
  const ownProcess = context === undefined;
  if (ownProcess) {
    scavengeWithoutHelpers();
    // Kept for the whole command (`on`, not `once`): with no listener of ours left after a
    // first signal, execa's exit hook (signal-exit) took the first for the process dying, killed
    // every child (the held start of a stopped Neo4j server among them) and raised the signal
    // again, so the server stayed down. A second one ends the process (see onSignal).
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // `hbr backups --json | head -1` closes stdout early: that is not an error.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
    });
  }

  let exitCode: number = ExitCode.ok;
  // Known before parsing: a usage error stops the parse before the option is read.
  const json = argv.includes('--json');
  const program = new Command('hbr')
    .description('Hartonomous Backup & Recovery')
    .version(packageJson.version, '-V, --version', 'print the version of hbr')
    .option('-r, --repo <location>', 'repository location (else HBR_REPOSITORY, else the config)')
    .option('-c, --config <file>', 'config file (else HBR_CONFIG, else ./hbr.yaml)')
    .option(
      '--password-file <file>',
      'file holding the repository password (else HBR_PASSWORD_FILE)',
    )
    .option('--key-file <file>', 'key file instead of a password (else HBR_KEY_FILE)')
    .option('--json', 'machine-readable output on stdout')
    .option('--no-progress', 'no progress display')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      // With --json, a usage error is reported as JSON below, without the help text.
      writeErr: (text) => (json ? undefined : ctx.stderr.write(text)),
    })
    .showHelpAfterError();

  try {
    // Only the command being run is loaded; help, a typo or no command loads them all.
    const name = commandNameOf(argv);
    const wanted = commands.filter((entry) => name !== undefined && entry.names.includes(name));
    const chosen = wanted.length > 0 ? wanted : commands;
    // The key derivation runs on the thread pool while the command's modules load (started
    // already when bin/hbr.js runs this process: then this starts nothing more).
    void deriveKeyForCommandLine(argv, ctx.env, ctx.cwd);
    for (const register of await Promise.all(chosen.map((entry) => entry.load()))) {
      register(program, ctx, (code) => {
        exitCode = code;
      });
    }
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version "errors" are normal exits.
      if (error.exitCode === 0) return (exitCode = ExitCode.ok);
      if (json)
        reportError(
          ctx,
          new UsageError(error.message.replace(/^error: /, '')),
          ExitCode.usage,
          true,
        );
      return (exitCode = ExitCode.usage);
    }
    exitCode = ctx.signal.aborted ? ExitCode.interrupted : exitCodeFor(error);
    reportError(ctx, error, exitCode, Boolean(program.opts().json));
  } finally {
    if (ownProcess) {
      const signal = received;
      const interrupted = signal !== undefined && exitCode === ExitCode.interrupted;
      if (!interrupted) {
        // The command is done (a backup saved, its summary printed): a signal from now on, as
        // the process ends, ends it with the command's own code. Installed before the handler
        // above goes: with no listener in between, a SIGINT that came then killed the process,
        // and a saved backup looked failed (130) to a shell or a service manager.
        const code = exitCode;
        const exit = (): never => process.exit(code);
        process.once('SIGINT', exit);
        process.once('SIGTERM', exit);
      }
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // Once interrupted, the command has unwound; what is still pending is an operation no
      // signal can cancel (an open of a FIFO no one writes to, blocked on the thread pool), and
      // it must not keep the process alive. process.exit would wait for that thread forever:
      // the signal, raised again without a handler, ends the process as it ends any other
      // (exit status 128 + its number). The timer fires only while something is still pending.
      if (interrupted) setTimeout(() => process.kill(process.pid, signal), 0).unref();
    }
  }
  return exitCode;
}

// --- internal ---

function reportError(ctx: CliContext, error: unknown, code: number, json: boolean): void {
  const message = error instanceof Error ? error.message : String(error);
  if (json) {
    const reason = isHbrError(error) ? error.code : 'ERROR';
    // A restore plan's failure says which rule the backups break (LSN_GAP, …).
    const plan = error instanceof PlanError ? { reason: error.reason } : {};
    ctx.stderr.write(
      `${JSON.stringify({ messageType: 'exitError', code, error: { code: reason, message, ...plan } })}\n`,
    );
  } else {
    // A config's errors are a line per issue; any other error is one line, whatever it quotes.
    const oneLine = !(error instanceof ConfigError);
    ctx.stderr.write(`hbr: ${withoutControls(message, { oneLine })}\n`);
  }
  if (!isHbrError(error) && error instanceof Error && ctx.env.HBR_DEBUG) {
    ctx.stderr.write(`${error.stack ?? ''}\n`);
  }
}
