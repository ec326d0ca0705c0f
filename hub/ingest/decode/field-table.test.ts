import { describe, expect, it } from 'vitest';
import { FIELD_TABLE, type FieldSpec, type FieldType } from './field-table.js';
import { reachable, readProtoSchema, type ProtoField } from './testdata/proto-schema.js';

const schema = readProtoSchema();
const table = FIELD_TABLE as Record<string, readonly FieldSpec[]>;

/** How the table may read a proto field. */
function readableAs(f: ProtoField): FieldType[] {
  if (f.map) return ['generated'];
  if (schema.enums.has(f.type)) return f.repeated ? ['generated'] : ['enum'];
  if (schema.messages.has(f.type)) return f.repeated ? ['rmessage', 'generated'] : ['message', 'gmessage', 'generated'];
  if (f.repeated) return f.type === 'string' ? ['rstring', 'ristring'] : ['generated'];
  const scalar: Record<string, FieldType[]> = { string: ['string', 'istring'], uint64: ['uint64'], uint32: ['uint32'], int32: ['int32'], bool: ['bool'], double: ['double'] };
  return scalar[f.type] ?? ['generated'];
}

/** Every disagreement between the proto (from Delta down) and the fast decoder's table. */
function drift(): { problems: string[]; walked: string[] } {
  const problems: string[] = [];
  const walked: string[] = [];
  const queue = ['Delta'];
  while (queue.length) {
    const message = queue.shift()!;
    if (walked.includes(message)) continue;
    walked.push(message);
    const specs = table[message];
    if (!specs) {
      problems.push(`${message}: no entry in the table`);
      continue;
    }
    const fields = schema.messages.get(message)!;
    for (const f of fields) {
      const spec = specs.find(([no]) => no === f.number);
      if (!spec) {
        problems.push(`${message}.${f.name} = ${f.number}: no entry in the table`);
        continue;
      }
      const [, key, type, nested] = spec;
      if (key !== f.name) problems.push(`${message} field ${f.number}: the table says "${key}", the proto "${f.name}"`);
      if (!readableAs(f).includes(type)) problems.push(`${message}.${f.name}: read as ${type}, but it is ${f.repeated ? 'repeated ' : ''}${f.type}`);
      if ((type === 'message' || type === 'rmessage' || type === 'gmessage' || type === 'generated') && schema.messages.has(f.type) && nested !== f.type) problems.push(`${message}.${f.name}: the table names ${nested}, the proto ${f.type}`);
      // What the fast path reads, it must read all of; what it leaves to the generated decoder, it does not.
      if ((type === 'message' || type === 'rmessage') && nested) queue.push(nested);
    }
    for (const [no, key] of specs) if (!fields.some((f) => f.number === no)) problems.push(`${message}.${key} = ${no}: in the table, not in the proto`);
  }
  return { problems, walked };
}

describe('the fast decoder\'s field table', () => {
  it('reads the proto files it checks against', () => {
    expect(reachable(schema, 'Delta').sort()).toEqual(['ControllerDiag', 'ControllerHealth', 'Delta', 'RpcStat', 'FleetEvent', 'FleetObject', 'Job', 'Node', 'ObjectRef', 'Partition', 'Qos', 'Reservation', 'Account', 'Association'].sort());
    expect(schema.messages.get('FleetObject')!.every((f) => f.oneof === 'kind')).toBe(true);
    expect(schema.messages.get('FleetEvent')!.find((f) => f.name === 'attributes')).toMatchObject({ type: 'map', map: { key: 'string', value: 'string' } });
    expect(schema.messages.get('Job')!.find((f) => f.name === 'start_time')).toMatchObject({ number: 19, type: 'string', optional: true });
  });

  it('has an entry, with the proto\'s number, name and type, for every field reachable from Delta', () => {
    const { problems, walked } = drift();
    expect(problems).toEqual([]);
    // Everything reachable is read by the fast path except what it leaves to the generated decoder.
    expect(walked.sort()).toEqual(reachable(schema, 'Delta').filter((m) => !['FleetEvent', 'ControllerDiag', 'RpcStat'].includes(m)).sort());
  });
});
