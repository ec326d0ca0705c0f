// The embedded analytical engine: one in-memory DuckDB instance with the configured thread and
// memory limits. Parquet files are its storage; it keeps no database file of its own.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

export interface EngineLimits {
  /** Worker threads DuckDB may use. */
  threads: number;
  /** DuckDB's memory limit, e.g. "512MB". */
  memoryLimit: string;
}

export class HistoryEngine {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
  ) {}

  static async open(limits: EngineLimits): Promise<HistoryEngine> {
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(limits.threads),
      memory_limit: limits.memoryLimit,
      // Local Parquet only: no extension downloads, no remote files a query could name.
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const connection = await instance.connect();
    // Keep each Parquet file's footer between queries: a year of 20 clusters is 7,300 day
    // files, and reading their footers again was most of a warm report. Files are never changed
    // in place (a write renames a new file in), so a cached footer stays right. A setting of
    // the Parquet extension, so SET after it loaded, not an option of create().
    await connection.run('SET GLOBAL parquet_metadata_cache = true');
    return new HistoryEngine(instance, connection);
  }

  /** A connection of its own, for a long read (an export) that must not be cut by other queries. */
  connect(): Promise<DuckDBConnection> {
    return this.instance.connect();
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
