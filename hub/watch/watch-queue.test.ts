import { describe, expect, it } from 'vitest';
import { SharedFrames, WatchQueue } from './watch-queue.js';

describe('watch queue', () => {
  it('hands items over in order only while the transport takes them, and counts what waits', () => {
    const taken: string[] = [];
    let room = 2;
    const queue = new WatchQueue<string>((s) => s.length, (s) => {
      taken.push(s);
      return --room > 0;
    });
    for (const s of ['aa', 'bbb', 'c', 'dddd']) queue.push(s);
    expect(queue.bytes).toBe(10);
    queue.pump();
    // The second write said "full": the rest waits for the drain.
    expect(taken).toEqual(['aa', 'bbb']);
    expect(queue.bytes).toBe(5);
    expect(queue.length).toBe(2);
    room = 10;
    queue.pump();
    expect(taken).toEqual(['aa', 'bbb', 'c', 'dddd']);
    expect(queue.bytes).toBe(0);
    queue.push('e');
    queue.clear();
    queue.pump();
    expect(taken).toHaveLength(4);
    expect(queue.bytes).toBe(0);
  });

  it('keeps its order across many items taken a few at a time', () => {
    const taken: number[] = [];
    let room = 0;
    const queue = new WatchQueue<number>(() => 1, (n) => {
      taken.push(n);
      return --room > 0;
    });
    for (let i = 0; i < 5_000; i++) queue.push(i);
    while (queue.length) {
      room = 7;
      queue.pump();
    }
    expect(taken).toEqual(Array.from({ length: 5_000 }, (_, i) => i));
  });
});

describe('shared frames', () => {
  it('makes a frame once per event and view, and forgets an event once the next comes', () => {
    const frames = new SharedFrames<string>();
    let made = 0;
    const make = (s: string) => () => (made++, s);
    expect(frames.get('b-1', 'upsert|', make('x'))).toBe('x');
    expect(frames.get('b-1', 'upsert|', make('y'))).toBe('x');
    expect(frames.get('b-1', 'upsert|cancel', make('z'))).toBe('z');
    expect(made).toBe(2);
    expect(frames.get('b-2', 'upsert|', make('w'))).toBe('w');
    expect(frames.get('b-1', 'upsert|', make('v'))).toBe('v');
    expect(made).toBe(4);
  });
});
