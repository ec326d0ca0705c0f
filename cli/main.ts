// The sfleet command: one binary for every role and every client command.
import { Command, CommanderError } from 'commander';
import { FleetError } from '../shared/errors/index.js';
import { VERSION } from '../shared/version.js';
import { registerAdminCommands } from './commands/admin-commands.js';
import { registerAuthCommands } from './commands/auth-commands.js';
import { registerAuditCommands } from './commands/audit-commands.js';
import { registerClusterCommands } from './commands/cluster-commands.js';
import { registerConfigCommands } from './commands/config-commands.js';
import { registerControlCommands } from './commands/control-commands.js';
import { registerDemoCommands } from './commands/demo-commands.js';
import { registerEventCommands } from './commands/event-commands.js';
import { registerHistoryCommands } from './commands/history-commands.js';
import { registerExportCommands } from './commands/export-commands.js';
import { registerKeysCommands } from './commands/keys-commands.js';
import { registerQueryCommands } from './commands/query-commands.js';
import { registerServerCommands } from './commands/server-commands.js';
import { registerLoginCommands } from './commands/login-commands.js';
import { registerUserCommands } from './commands/user-commands.js';
import { registerVersionCommand } from './commands/version-command.js';
import { registerQuotaCommands } from './commands/quota-commands.js';
import { exitQuietlyOnClosedPipe } from './output/closed-pipe.js';
import { registerAlertCommands } from './commands/alert-commands.js';
import { registerOncallCommand } from './commands/oncall-command.js';
import { registerSubmitCommands } from './commands/submit-commands.js';
import { registerBackupCommands } from './commands/backup-commands.js';
import { registerComplianceCommands } from './commands/compliance-commands.js';
import { registerImportCommands } from './commands/import-commands.js';
import { registerDeployCommands } from './commands/deploy-commands.js';

export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe(argv);
  const program = new Command('sfleet')
    .version(VERSION)
    .description('slurmfleet: see, control and be paged about many Slurm clusters')
    .showSuggestionAfterError()
    .exitOverride();
  registerServerCommands(program);
  registerDemoCommands(program);
  registerAdminCommands(program);
  registerQueryCommands(program);
  registerControlCommands(program);
  registerClusterCommands(program);
  registerEventCommands(program);
  registerAuthCommands(program);
  registerLoginCommands(program);
  registerUserCommands(program);
  registerQuotaCommands(program);
  registerSubmitCommands(program);
  registerAuditCommands(program);
  registerKeysCommands(program);
  registerVersionCommand(program);
  registerConfigCommands(program);
  registerDeployCommands(program);
  registerHistoryCommands(program);
  registerExportCommands(program);
  registerBackupCommands(program);
  registerComplianceCommands(program);
  registerImportCommands(program);
  registerAlertCommands(program);
  registerOncallCommand(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    const message = err instanceof FleetError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message}\n`);
    return 1;
  }
}
