// The messages of proto/fleet/v1/*.proto, read from the .proto files themselves (the generated
// ts-proto code carries no descriptors): enough of proto3 for our files (messages, enums,
// repeated, optional, oneof, map<k, v>). Tests walk it to check the fast decoder's field table
// and to make random messages of every field.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ProtoField {
  number: number;
  name: string;
  /** Scalar type name, message or enum name, or 'map'. */
  type: string;
  repeated: boolean;
  optional: boolean;
  /** The oneof the field belongs to, if any. */
  oneof?: string;
  /** map<key, value> */
  map?: { key: string; value: string };
}

export interface ProtoSchema {
  messages: Map<string, ProtoField[]>;
  enums: Map<string, number[]>;
}

export function readProtoSchema(dir = join(import.meta.dirname, '../../../../proto/fleet/v1')): ProtoSchema {
  const messages = new Map<string, ProtoField[]>();
  const enums = new Map<string, number[]>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.proto'))) {
    const text = readFileSync(join(dir, file), 'utf8').replace(/\/\/.*$/gm, '');
    for (const m of text.matchAll(/\benum\s+(\w+)\s*\{([^}]*)\}/g)) enums.set(m[1], [...m[2].matchAll(/=\s*(\d+)\s*;/g)].map((v) => Number(v[1])));
    // Messages hold no nested braces but oneof blocks: match those inside.
    for (const m of text.matchAll(/\bmessage\s+(\w+)\s*\{((?:[^{}]|\{[^{}]*\})*)\}/g)) {
      const fields: ProtoField[] = [];
      const body = m[2].replace(/\boneof\s+(\w+)\s*\{([^}]*)\}/g, (_all, oneof: string, inner: string) => inner.replace(/;/g, ` [oneof=${oneof}];`));
      for (const f of body.matchAll(/(repeated\s+|optional\s+)?(map<\s*(\w+)\s*,\s*(\w+)\s*>|\w+)\s+(\w+)\s*=\s*(\d+)\s*(?:\[oneof=(\w+)\])?\s*;/g)) {
        fields.push({
          number: Number(f[6]),
          name: f[5],
          type: f[3] ? 'map' : f[2],
          repeated: f[1]?.trim() === 'repeated',
          optional: f[1]?.trim() === 'optional',
          ...(f[7] ? { oneof: f[7] } : {}),
          ...(f[3] ? { map: { key: f[3], value: f[4] } } : {}),
        });
      }
      messages.set(m[1], fields);
    }
  }
  return { messages, enums };
}

/** The messages reachable from `root` through message-typed fields (map values included). */
export function reachable(schema: ProtoSchema, root: string): string[] {
  const seen = new Set<string>([root]);
  const queue = [root];
  while (queue.length) {
    for (const f of schema.messages.get(queue.shift()!) ?? []) {
      const type = f.map ? f.map.value : f.type;
      if (schema.messages.has(type) && !seen.has(type)) {
        seen.add(type);
        queue.push(type);
      }
    }
  }
  return [...seen];
}
