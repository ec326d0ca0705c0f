// The OpenAPI document, built from the registered routes so it cannot drift from them.
import { PROBLEM_CONTENT_TYPE } from '../../../shared/errors/index.js';
import { QUOTA_REFUSAL_SCHEMA } from '../../submit/errors.js';

export interface RouteInfo {
  method: string;
  url: string;
  permission?: string;
  public: boolean;
  schema?: { summary?: string; querystring?: { properties?: Record<string, object> }; params?: { properties?: Record<string, object> }; body?: object; response?: Record<string, object> };
}

/** The route's declared success answers (the schemas fastify serializes them with); untyped when none. */
function successResponses(route: RouteInfo): Record<string, object> {
  const declared = Object.entries(route.schema?.response ?? {}).filter(([code]) => /^2\d\d$/.test(code));
  if (declared.length === 0) return { '200': { description: 'OK' } };
  // A route that answers other than JSON declares `content` by media type (fastify's form); JSON routes give the schema.
  return Object.fromEntries(declared.map(([code, schema]) => [code, { description: 'OK', content: 'content' in schema ? schema.content : { 'application/json': { schema } } }]));
}

export function buildOpenApi(routes: RouteInfo[]): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters = [
      ...Object.entries(route.schema?.params?.properties ?? {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema })),
      ...Object.entries(route.schema?.querystring?.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
    ];
    (paths[path] ??= {})[route.method.toLowerCase()] = {
      summary: route.schema?.summary ?? '',
      ...(route.permission ? { 'x-permission': route.permission } : {}),
      security: route.public ? [] : [{ mtls: [] }, { bearer: [] }],
      parameters,
      ...(route.schema?.body ? { requestBody: { content: { 'application/json': { schema: route.schema.body } } } } : {}),
      responses: {
        ...successResponses(route),
        default: { description: 'Error', content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'slurmfleet hub API', version: 'v1' },
    paths,
    components: {
      securitySchemes: { mtls: { type: 'mutualTLS' }, bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Problem: {
          type: 'object',
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string' },
            instance: { type: 'string' },
            // Extensions some codes carry: the input a refusal is about, and SF_QUOTA_EXCEEDED's figures.
            field: { type: 'string', description: 'The request field the refusal is about (e.g. a submit flag)' },
            quota: QUOTA_REFUSAL_SCHEMA,
          },
        },
      },
    },
  };
}
