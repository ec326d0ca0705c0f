// The harness the integration tests, `npm run bench` and `npm run chaos` share: ports, waiting,
// PKI, the services (etcd, Redis), sfleet child processes (hubs among them), breakable TCP
// proxies and agent configs. tsconfig.json builds this file and what it imports into
// dist/test/harness/, where the benchmarks and chaos import it from. The fakes only tests use
// (identity providers, browsers, LDAP) are imported by their files directly.
export { freePort, freePorts } from './ports.js';
export { sleep, waitFor, type WaitAbort } from './wait.js';
export { makePki, type PkiOptions, type TestPki } from './pki.js';
export { HaServices, type Member, type ServicePlacement } from './ha-services.js';
export { ROOT, SFLEET, SfleetProcess, type SfleetProcessOptions } from './sfleet-process.js';
export { httpsCall, HubChild, type HttpsAnswer, type HttpsCall, type HubChildOptions } from './hub-child.js';
export { GroupHub, type GroupHubOptions, type RawResponse } from './hub-group.js';
export { TcpProxy } from './tcp-proxy.js';
export { agentConfig, startTestAgent, type TestAgentConfig } from './test-agent.js';
export { slurmExports, withoutJwt } from './slurm.js';
export { execText, type ExecOptions } from './exec.js';
export { LoginHub, type RawAnswer } from './login-hub.js';
export { sfleet } from './sfleet-process.js';
