import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RowStatus } from '../src/content/row-status.js';

function fakeAsk(answer) {
  const calls = [];
  const ask = async (type, payload) => {
    calls.push([type, [...payload.threadIds]]);
    return Object.fromEntries(payload.threadIds.map((id) => [id, answer(id)]));
  };
  return { ask, calls };
}

test('rows that appear together are looked up in one request', async () => {
  const { ask, calls } = fakeAsk((id) => (id === 'a' ? { tracked: true, opened: true } : { tracked: false }));
  const rows = new RowStatus(ask);
  const [a, b, c] = await Promise.all(['a', 'b', 'a'].map((id) => rows.get(id)));
  assert.deepEqual(calls, [['rowStatus', ['a', 'b']]]);
  assert.equal(a.opened, true);
  assert.equal(b.tracked, false);
  assert.equal(c.opened, true);
  await rows.get('a');
  assert.equal(calls.length, 1, 'the second look is served from the cache');
  assert.ok(rows.knownUntracked('b'));
});

test('a notification for a thread forgets it and tells the features to redraw it', async () => {
  let opened = false;
  const { ask, calls } = fakeAsk(() => ({ tracked: true, opened }));
  const rows = new RowStatus(ask);
  await rows.get('t1');
  const redrawn = [];
  rows.onChange((ids) => redrawn.push(...ids));
  opened = true;
  rows.invalidate('t1');
  assert.deepEqual(redrawn, ['t1']);
  assert.equal((await rows.get('t1')).opened, true);
  assert.equal(calls.length, 2);
});

test('a failed lookup draws nothing and is tried again next time', async () => {
  let fail = true;
  const rows = new RowStatus(async () => {
    if (fail) throw new Error('offline');
    return { x: { tracked: true } };
  });
  assert.equal((await rows.get('x')).tracked, false);
  fail = false;
  assert.equal((await rows.get('x')).tracked, true);
});
