// Bringing another tool's configuration to slurmfleet: today the s9s terminal UI's.
export { readS9sConfig, type S9sConfig } from './s9s-config.js';
export { migrateS9s, roleFor, type Migration, type MigrationOptions } from './s9s-to-fleet.js';
export { writeMigration, type WrittenMigration } from './write-migration.js';
export { briefDocuments, migrateBrief, type BriefMigrationOptions } from './brief-to-fleet.js';
