/** The name quota enforcement acts under (commands, audit records, events): hold and slurm policies alike. */
export const ENFORCER_USER = 'sfleet-quota';
