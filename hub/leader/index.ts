export { createEtcdClient } from './etcd-client.js';
export { etcdTlsProblem } from './etcd-tls-probe.js';
export { EtcdSpaceWatch, isEtcdNoSpace, NO_SPACE_MESSAGE, type EtcdSpaceState } from './etcd-space.js';
export { EtcdLeadership, fencedPut, type EtcdLeadershipDeps, type LeadershipStats } from './etcd-leadership.js';
export { FencedOffError, type FenceTarget, type LeaderContext } from './fencing.js';
export {
  StandaloneLeadership,
  healthOf,
  type Leadership,
  type LeadershipDeps,
  type LeadershipStatus,
  type LocalHealth,
  type MemberIdentity,
  type MemberList,
  type MemberView,
} from './leadership.js';
export { SingletonRunner, periodic, sleep, type Singleton, type SingletonStats } from './singletons.js';
export { registerLeaderMetrics } from './leader-metrics.js';
export { EtcdClusterOwnership, type ClusterOwnership, type OwnershipStats, type OwnershipTarget } from './cluster-ownership.js';
