// docs/errors.md from the error catalogue (hub/errors/): code, HTTP status, gRPC code, title and
// meaning of every error the hub answers with, rendered from an instance of each class.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ErrorArea } from '../../shared/errors/index.js';

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderErrorsDoc(catalogue: readonly ErrorArea[]): string {
  const out = [
    '# Error codes',
    '',
    '<!-- Generated from hub/errors/index.ts by `npm run docs`: edit the catalogue, not this file. -->',
    '',
    'Every error the hub answers with carries one of these codes. Over HTTP the answer is',
    '`application/problem+json` with `code`, `status`, `title` (the error class), `detail` (a safe',
    'message) and `type` (`https://slurmfleet.dev/errors/<code>`); over gRPC it is the status code',
    'below with the details `<code>: <message>`. Anything else that goes wrong is `SF_INTERNAL`,',
    'whose cause is only in the hub\'s log.',
  ];
  for (const { area, entries } of catalogue) {
    out.push('', `## ${area}`, '', '| Code | HTTP | gRPC | Title | Meaning |', '| --- | --- | --- | --- | --- |');
    for (const entry of entries) {
      const e = entry.example();
      out.push(`| <a id="${e.code}"></a>\`${e.code}\` | ${e.httpStatus} | ${GrpcStatus[e.grpcCode]} (${e.grpcCode}) | ${e.name} | ${cell(entry.meaning)} |`);
    }
  }
  return out.join('\n') + '\n';
}
