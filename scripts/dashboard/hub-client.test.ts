import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIENT_PATH, generateClientTypes, hubOpenApiDocument, untypedOperations } from './hub-client.js';

describe("the dashboard's generated client", () => {
  it('is what the hub OpenAPI document generates today (run npm run dashboard:client after a route change)', async () => {
    const committed = readFileSync(join(import.meta.dirname, '..', '..', CLIENT_PATH), 'utf8');
    expect(committed).toBe(await generateClientTypes());
  });

  it('types the success answer of every operation (a new route must declare its response schema)', async () => {
    const doc = await hubOpenApiDocument();
    expect(untypedOperations(doc)).toEqual([]);
    // What the dashboard reads is typed: jobs with their actions and total, nodes, clusters, aggregates, commands.
    const types = await generateClientTypes(doc);
    expect(types).toMatch(/total_capped\?: boolean/);
    expect(types).toMatch(/actions\?: \("cancel" \| "hold" \| "release" \| "requeue" \| "drain" \| "resume"\)\[\]/);
    expect(types).toContain('"/api/v1/aggregates"');
    // Submission (the dashboard's submit form) answers 201 with the new job's id.
    expect(types).toMatch(/"\/api\/v1\/jobs\/\{cluster\}": \{[\s\S]*?201: \{[\s\S]*?job_id: string;/);
    // Answers that are not JSON keep their media type, and the text itself is typed as a string.
    expect(types).toMatch(/"text\/event-stream": string/);
    expect(types).toMatch(/"text\/plain": string/);
  });
});
