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
    return new HistoryEngine(instance, await instance.connect());
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
