// The hand-over ring of the active-series worker (src/observe/active-series/handover-ring.ts): records come out as
// they went in, in order, across wrap-arounds, whatever their sizes and alignments; a record that does not fit is
// refused at once, and the room comes back once the consumer took what was queued.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createRingBuffer,
  RingConsumer,
  RingProducer,
} from '../../../src/observe/active-series/handover-ring.js';
import type { HandoverEncoding } from '../../../src/observe/active-series/handover-ring.js';
import type { WriteFormat } from '../../../src/remote-write/request-info.js';

const FORMATS: WriteFormat[] = ['prw1', 'prw2', 'otlp-proto', 'otlp-json'];
const ENCODINGS: HandoverEncoding[] = ['identity', 'snappy', 'gzip'];

interface Sent {
  tenant: string;
  format: WriteFormat;
  encoding: HandoverEncoding;
  nowMs: number;
  decodedBytes: number;
  body: number[];
}

describe('handover ring', () => {
  it('gives back every record it took, in order, across wrap-arounds (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            tenant: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('team-a', 'tenant-ä', '')),
            size: fc.integer({ min: 0, max: 900 }),
            offset: fc.integer({ min: 0, max: 9 }),
            format: fc.integer({ min: 0, max: 3 }),
            encoding: fc.integer({ min: 0, max: 2 }),
            takeAfter: fc.boolean(),
          }),
          { maxLength: 80 },
        ),
        (ops) => {
          const buffer = createRingBuffer(4096);
          const producer = new RingProducer(buffer);
          const consumer = new RingConsumer(buffer);
          const queued: Sent[] = [];
          let n = 0;
          const takeOne = () => {
            const r = consumer.take();
            const want = queued.shift();
            if (want === undefined) return expect(r).toBeUndefined();
            expect(r).toBeDefined();
            expect({ ...r!, body: [...r!.body] }).toEqual(want);
          };
          for (const op of ops) {
            const backing = new Uint8Array(op.offset + op.size);
            for (let i = 0; i < op.size; i++) backing[op.offset + i] = (n + i * 7) & 0xff;
            const body = backing.subarray(op.offset);
            const sent: Sent = {
              tenant: op.tenant,
              format: FORMATS[op.format]!,
              encoding: ENCODINGS[op.encoding]!,
              nowMs: 1_765_000_000_000 + n++ * 0.5,
              decodedBytes: op.size * 3,
              body: [...body],
            };
            const before = producer.queuedBytes;
            if (producer.offer(sent.tenant, sent.format, sent.encoding, sent.nowMs, sent.decodedBytes, body))
              queued.push(sent);
            else expect(producer.queuedBytes).toBe(before);
            if (op.takeAfter) takeOne();
          }
          while (queued.length > 0) takeOne();
          expect(consumer.take()).toBeUndefined();
          expect(producer.queuedBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses what does not fit, without waiting, and takes again once the consumer caught up', () => {
    const buffer = createRingBuffer(16 * 1024);
    const producer = new RingProducer(buffer);
    const consumer = new RingConsumer(buffer);
    const body = new Uint8Array(3000).fill(7);
    let accepted = 0;
    for (let i = 0; i < 10; i++) if (producer.offer('t', 'prw1', 'snappy', i, 9000, body)) accepted++;
    expect(accepted).toBe(5);
    expect(producer.full).toBe(5);
    expect(producer.offer('t', 'prw1', 'snappy', 0, 9000, new Uint8Array(20_000))).toBe(false);
    while (consumer.take() !== undefined) accepted--;
    expect(accepted).toBe(0);
    expect(producer.offer('t', 'prw1', 'snappy', 0, 9000, body)).toBe(true);
  });

  it('wakes a waiting consumer when a record is published', async () => {
    const buffer = createRingBuffer(4096);
    const producer = new RingProducer(buffer);
    const consumer = new RingConsumer(buffer);
    const started = Date.now();
    const waited = consumer.wait(5000);
    producer.offer('t', 'prw1', 'identity', 1, 1, new Uint8Array(1));
    await waited;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(consumer.take()?.tenant).toBe('t');
  });
});
