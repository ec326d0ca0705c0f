import { describe, expect, it } from 'vitest';
import { SlurmResponseError } from '../../../shared/errors/index.js';
import { ResponseReader, type ResponseHead } from './response-reader.js';

interface Read {
  head?: ResponseHead;
  body: string;
  complete: boolean;
}

/** Feeds `text` in pieces of `size` bytes through one reused buffer, as the socket does. */
function read(text: string, size: number, atEnd = false): Read {
  const out: Read = { body: '', complete: false };
  const reader = new ResponseReader(
    'GET /jobs on test',
    (h) => (out.head = h),
    (chunk) => (out.body += chunk.toString('latin1')),
  );
  const bytes = Buffer.from(text, 'latin1');
  const socketBuffer = Buffer.alloc(size);
  for (let i = 0; i < bytes.length && !out.complete; i += size) {
    const n = bytes.copy(socketBuffer, 0, i, i + size);
    out.complete = reader.push(socketBuffer.subarray(0, n));
    socketBuffer.fill(0);
  }
  if (atEnd && !out.complete) out.complete = reader.end();
  return out;
}

const SIZES = [1, 2, 3, 5, 64, 100_000];

describe('ResponseReader', () => {
  it('reads a Content-Length body, however the bytes are cut, and ignores bytes after it', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"jobs":[]}extra';
    for (const size of SIZES) {
      const r = read(text, size);
      expect(r.complete).toBe(true);
      expect(r.head?.status).toBe(200);
      expect(r.head?.headers.get('content-type')).toBe('application/json');
      expect(r.body).toBe('{"jobs":[]}');
    }
  });

  it('decodes a chunked body with extensions and trailers', () => {
    const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: 1\r\n\r\n';
    for (const size of SIZES) {
      const r = read(text, size);
      expect(r).toMatchObject({ complete: true, body: 'hello, world!!!' });
    }
  });

  it('is not complete until the last chunk, nor a Content-Length body before its last byte', () => {
    expect(read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', 3, true)).toMatchObject({ complete: false, body: 'hello' });
    expect(read('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n123456789', 4, true)).toMatchObject({ complete: false, body: '123456789' });
  });

  it('reads a body without length up to the end of the connection', () => {
    for (const size of SIZES) expect(read('HTTP/1.1 200 OK\r\n\r\nall of it', size, true)).toMatchObject({ complete: true, body: 'all of it' });
  });

  it('takes 304 and 204 as bodiless, and skips an interim 100 Continue', () => {
    expect(read('HTTP/1.1 304 NOT MODIFIED\r\n\r\n', 4)).toMatchObject({ complete: true, body: '' });
    expect(read('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n', 4).complete).toBe(true);
    const r = read('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok', 7);
    expect(r).toMatchObject({ complete: true, body: 'ok' });
    expect(r.head?.status).toBe(201);
  });

  it('refuses bad framing with a typed error', () => {
    const bad = (text: string): Error => {
      try {
        read(text, 16);
      } catch (err) {
        return err as Error;
      }
      throw new Error('expected an error');
    };
    expect(bad('SSH-2.0-OpenSSH\r\n\r\n')).toBeInstanceOf(SlurmResponseError);
    expect(bad('SSH-2.0-OpenSSH\r\n\r\n').message).toBe('slurmrestd answer to GET /jobs on test is not valid HTTP: its status line is not HTTP/1.x');
    expect(bad('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n').message).toMatch(/Content-Length is not a number/);
    expect(bad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n').message).toMatch(/chunk size is not hexadecimal/);
    expect(bad('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n').message).toMatch(/chunk is longer than its size/);
    expect(bad(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70_000)}\r\n\r\n`).message).toMatch(/headers are larger than 65536 bytes/);
  });
});
