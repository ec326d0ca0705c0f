// Which of the hub's listeners are up, and where. /readyz and the membership record read it;
// the listeners stage reports each one once it is bound.
import type { MemberIdentity } from '../leader/index.js';

export class Listening {
  private readonly bound: { grpc?: string; http?: string; tlsName?: string } = {};
  /** What the hub says about itself in its membership record: addresses fill in once bound. */
  readonly identity: MemberIdentity;

  constructor(self: { hub_id: string; region: string; version: string }) {
    // Own getters (copied by a spread), not values: the leadership reads the record each time it writes it.
    const bound = this.bound;
    this.identity = {
      hub_id: self.hub_id,
      region: self.region,
      get http_url() {
        return bound.http ?? '';
      },
      get grpc_address() {
        return bound.grpc ?? '';
      },
      version: self.version,
      get tls_name() {
        return bound.tlsName;
      },
    };
  }

  grpcUp(address: string): void {
    this.bound.grpc = address;
  }

  /** The name in the hub's own certificate (written in its membership record). */
  certificateName(name: string | undefined): void {
    this.bound.tlsName = name;
  }

  httpUp(url: string): void {
    this.bound.http = url;
  }

  get grpc(): boolean {
    return this.bound.grpc !== undefined;
  }

  get http(): boolean {
    return this.bound.http !== undefined;
  }

  /** Both listeners answer. */
  get ready(): boolean {
    return this.grpc && this.http;
  }
}
