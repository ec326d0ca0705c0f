// s3rver ships no types (and @types/s3rver describes 3.7 loosely): what the harness uses of it.
declare module 's3rver' {
  export default class S3rver {
    constructor(opts: { port: number; address: string; directory: string; silent: boolean; configureBuckets: { name: string }[] });
    run(): Promise<unknown>;
    close(): Promise<unknown>;
  }
}
