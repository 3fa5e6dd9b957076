import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSseParser } from '../src/lib/sse.js';

function collect(chunks) {
  const events = [];
  const comments = [];
  const retries = [];
  const parser = createSseParser({ onEvent: (e) => events.push(e), onComment: (c) => comments.push(c),
    onRetry: (r) => retries.push(r) });
  for (const chunk of chunks) parser.push(chunk);
  return { events, comments, retries, parser };
}

test('a notification event carries its id, type and JSON data', () => {
  const { events, parser } = collect(['retry: 3000\n: connected\n\n', 'id: 7\nevent: notification\ndata: {"id":7}\n\n']);
  assert.deepEqual(events, [{ type: 'notification', data: '{"id":7}', id: '7' }]);
  assert.equal(parser.lastEventId, '7');
});

test('events split anywhere across chunks, even inside CRLF, come out whole', () => {
  const text = 'id: 1\r\nevent: notification\r\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: message\r\ndata: x\r\n\r\n';
  for (let cut = 1; cut < text.length; cut += 1) {
    const { events } = collect([text.slice(0, cut), text.slice(cut)]);
    assert.deepEqual(events.map((e) => [e.type, e.data, e.id]),
      [['notification', '{"a":\n1}', '1'], ['message', 'x', '1']], `cut at ${cut}`);
  }
});

test('heartbeats are comments, and retry only takes digits', () => {
  const { events, comments, retries } = collect([': keep-alive\n\nretry: soon\nretry: 5000\n\n']);
  assert.deepEqual(events, []);
  assert.deepEqual(comments, ['keep-alive']);
  assert.deepEqual(retries, [5000]);
});

test('an event without data is not dispatched, and an unfinished one at the end is dropped', () => {
  const { events, parser } = collect(['event: notification\n\n', 'data: half']);
  parser.end();
  assert.deepEqual(events, []);
});

test('a lone carriage return ends a line, and a field without a colon is a field with no value', () => {
  const { events } = collect(['data\rdata: b\r\r']);
  assert.deepEqual(events.map((e) => e.data), ['\nb']);
});
