import type {
  Account,
  Association,
  ControllerHealth,
  FleetObject,
  Job,
  Node,
  Partition,
  Qos,
  Reservation,
} from '../../generated/fleet/v1/model.js';
import { ObjectKind } from '../../generated/fleet/v1/model.js';

/** Kind names as they appear in the API, the watch stream and the CLI. */
export const KINDS = [
  'job',
  'node',
  'partition',
  'reservation',
  'qos',
  'account',
  'association',
  'controller',
] as const;
export type KindName = (typeof KINDS)[number];

export interface KindTypes {
  job: Job;
  node: Node;
  partition: Partition;
  reservation: Reservation;
  qos: Qos;
  account: Account;
  association: Association;
  controller: ControllerHealth;
}

/** A whole cluster as one source poll sees it. */
export type ClusterModel = { [K in KindName]: KindTypes[K][] };

export function emptyClusterModel(): ClusterModel {
  return {
    job: [],
    node: [],
    partition: [],
    reservation: [],
    qos: [],
    account: [],
    association: [],
    controller: [],
  };
}

const KIND_TO_ENUM: Record<KindName, ObjectKind> = {
  job: ObjectKind.OBJECT_KIND_JOB,
  node: ObjectKind.OBJECT_KIND_NODE,
  partition: ObjectKind.OBJECT_KIND_PARTITION,
  reservation: ObjectKind.OBJECT_KIND_RESERVATION,
  qos: ObjectKind.OBJECT_KIND_QOS,
  account: ObjectKind.OBJECT_KIND_ACCOUNT,
  association: ObjectKind.OBJECT_KIND_ASSOCIATION,
  controller: ObjectKind.OBJECT_KIND_CONTROLLER,
};

export function kindToEnum(kind: KindName): ObjectKind {
  return KIND_TO_ENUM[kind];
}

export function enumToKind(kind: ObjectKind): KindName | undefined {
  for (const name of KINDS) if (KIND_TO_ENUM[name] === kind) return name;
  return undefined;
}

/** The identity of an object inside its cluster. */
export function objectId<K extends KindName>(kind: K, obj: KindTypes[K]): string {
  switch (kind) {
    case 'job':
      return String((obj as Job).id);
    case 'association': {
      const a = obj as Association;
      return `${a.account}/${a.user}/${a.partition}`;
    }
    case 'controller':
      return (obj as ControllerHealth).hostname;
    default:
      return (obj as { name: string }).name;
  }
}

export function wrapObject<K extends KindName>(kind: K, value: KindTypes[K]): FleetObject {
  return { kind: { $case: kind, value } as FleetObject['kind'] };
}

export function unwrapObject(obj: FleetObject): { kind: KindName; value: KindTypes[KindName] } | undefined {
  if (!obj.kind) return undefined;
  return { kind: obj.kind.$case, value: obj.kind.value };
}
