import { logUse, planLog, planRing, ringUse, type LogSpec, type RingSpec } from '../../../../lambdas/core/rate-limit/sliding';
import { ScriptedRandom } from '../../../helpers/fakes';

const log: LogSpec = { algorithm: 'log', name: 'sm', windowMs: 60_000, limit: 3 };
const ring: RingSpec = { algorithm: 'ring', name: 'sh', windowMs: 3_600_000, bucketMs: 300_000, limit: 5 };
const now = Date.parse('2026-11-22T12:00:30.000Z');
const bucket = Math.floor(now / ring.bucketMs);

describe('sliding log', () => {
  it('takes a free slot (chosen at random among the free ones), conditioned on it still being a window old', () => {
    const value = { kind: 'log' as const, times: [now - 10_000, 0, now - 60_000] };
    expect(planLog(log, now, value, new ScriptedRandom([0.9]))).toEqual({
      kind: 'write',
      write: { name: 'sm', kind: 'claim', slot: 2, at: now, freeBefore: now - 60_000 },
      undo: { kind: 'release', name: 'sm', slot: 2, at: now },
    });
    expect(planLog(log, now, value, new ScriptedRandom([0]))).toMatchObject({ write: { slot: 1 } });
  });

  it('refuses when every slot holds an admission of the last window, and frees at the oldest plus a window', () => {
    const value = { kind: 'log' as const, times: [now - 59_999, now - 1, now] };
    expect(planLog(log, now, value, new ScriptedRandom())).toEqual({ kind: 'refuse' });
    expect(logUse(log, now, value)).toEqual({ used: 3, freesAt: now + 1 });
    expect(logUse(log, now + 1, value)).toEqual({ used: 2, freesAt: now + 59_999 });
  });

  it('assumes free slots when nothing is known (the condition keeps it exact)', () => {
    expect(planLog(log, now, undefined, new ScriptedRandom([0.5]))).toMatchObject({ kind: 'write', write: { slot: 1 } });
  });
});

describe('sliding ring of buckets', () => {
  it('adds to the newest bucket while the total is below the limit (the guess when nothing is known)', () => {
    const add = { kind: 'write', write: { name: 'sh', kind: 'bucket-add', slot: bucket % 13, bucket, limit: 5 } };
    expect(planRing(ring, now, undefined)).toMatchObject(add);
    expect(planRing(ring, now, { kind: 'ring', newest: bucket, total: 4, counts: [] })).toMatchObject(add);
    expect(planRing(ring, now, { kind: 'ring', newest: bucket, total: 5, counts: [] })).toEqual({ kind: 'refuse' });
  });

  it('moves to a new bucket, emptying the buckets that left the window, pinned to their counts', () => {
    const counts = Array.from({ length: 13 }, () => 0);
    counts[(bucket - 13) % 13] = 2; // the bucket the new one replaces
    counts[(bucket - 12) % 13] = 1; // the oldest that stays (partly in the window: counted in full)
    counts[(bucket - 1) % 13] = 1;
    const value = { kind: 'ring' as const, newest: bucket - 1, total: 4, counts };
    expect(planRing(ring, now, value)).toEqual({
      kind: 'write',
      write: {
        name: 'sh',
        kind: 'bucket-roll',
        slot: bucket % 13,
        bucket,
        from: bucket - 1,
        limit: 5,
        evict: [{ slot: (bucket - 13) % 13, count: 2 }],
      },
      undo: { kind: 'bucket', name: 'sh', slot: bucket % 13, bucket, size: 13, add: -1 },
    });
    expect(ringUse(ring, now, value)).toEqual({ used: 2, freesAt: (bucket + 1) * ring.bucketMs, roomAt: now });
  });

  it('refuses until the oldest buckets leave, and says when', () => {
    const counts = Array.from({ length: 13 }, () => 0);
    counts[(bucket - 12) % 13] = 3;
    counts[(bucket - 2) % 13] = 2;
    const value = { kind: 'ring' as const, newest: bucket, total: 5, counts };
    expect(planRing(ring, now, value)).toEqual({ kind: 'refuse' });
    expect(ringUse(ring, now, value)).toEqual({ used: 5, freesAt: (bucket + 1) * ring.bucketMs, roomAt: (bucket + 1) * ring.bucketMs });
  });

  it('counts an admission from an instance whose clock is behind in the newest bucket', () => {
    expect(planRing(ring, now - ring.bucketMs, { kind: 'ring', newest: bucket, total: 1, counts: [] })).toMatchObject({
      write: { kind: 'bucket-add', bucket },
    });
  });

  it('starts a ring that does not exist only if it still does not', () => {
    expect(planRing(ring, now, { kind: 'ring', newest: undefined, total: 0, counts: [] })).toMatchObject({
      write: { kind: 'bucket-roll', from: null, evict: [] },
    });
  });
});
