// The normalized Slurm model shared by agent and hub. The types are generated from
// proto/fleet/v1/model.proto so the wire and the model can never drift apart.
export type {
  Job,
  Node,
  Partition,
  Reservation,
  Qos,
  Account,
  Association,
  ControllerHealth,
  ControllerDiag,
  RpcStat,
  FleetObject,
  ObjectRef,
} from '../../generated/fleet/v1/model.js';
export { ObjectKind } from '../../generated/fleet/v1/model.js';
export * from './objects.js';
export * from './hostlist.js';
export * from './time.js';
