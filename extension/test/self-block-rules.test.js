import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeRegex, ownRuleIds, selfBlockRules } from '../src/lib/self-block-rules.js';

const BASE = 'https://t.example.com';
const matches = (rule, url) => new RegExp(rule.condition.regexFilter, 'i').test(url);

test('the sender never loads the pixel directly', () => {
  const [direct] = selfBlockRules([BASE]);
  assert.equal(direct.action.type, 'block');
  assert.ok(direct.condition.resourceTypes.includes('image'));
  assert.ok(matches(direct, 'https://t.example.com/o/AbC-123_xyz'));
  assert.ok(!matches(direct, 'https://t.example.com/c/AbC-123'), 'clicks are not blocked');
  assert.ok(!matches(direct, 'https://t.example.com.evil.org/o/x'));
  assert.ok(!matches(direct, 'https://other.example.com/o/x'));
});

test("nor through Gmail's image proxy, which keeps our URL after '#'", () => {
  const [, proxy] = selfBlockRules([BASE]);
  assert.ok(matches(proxy, 'https://ci3.googleusercontent.com/meips/ADKq_NZ9x=s0-d-e1-ft#https://t.example.com/o/tok'));
  assert.ok(matches(proxy, 'https://ci6.googleusercontent.com/proxy/abc=s0-d-e1-ft#https://t.example.com/o/tok'));
  assert.ok(!matches(proxy, 'https://ci3.googleusercontent.com/meips/x=s0#https://elsewhere.example/o/tok'));
  assert.ok(!matches(proxy, 'https://ci3.googleusercontent.com/meips/x#https://t.example.com/c/tok'));
  assert.ok(!matches(proxy, 'https://evil.example/googleusercontent.com/x#https://t.example.com/o/tok'));
});

test('a backend under a path or on a port is matched exactly, dots and all', () => {
  const [direct] = selfBlockRules(['http://127.0.0.1:8025/mb']);
  assert.ok(matches(direct, 'http://127.0.0.1:8025/mb/o/tok'));
  assert.ok(!matches(direct, 'http://127.0.0.1:8025/o/tok'));
  assert.ok(!matches(direct, 'http://127a0a0a1:8025/mb/o/tok'));
  assert.equal(escapeRegex('a.b+c?(d)[e]{f}|^$\\'), 'a\\.b\\+c\\?\\(d\\)\\[e\\]\\{f\\}\\|\\^\\$\\\\');
});

test('each tracking base gets its pair of rules once, with distinct ids in our own range', () => {
  const rules = selfBlockRules([BASE, `${BASE}/`, 'https://pixel.example.net']);
  assert.equal(rules.length, 4);
  assert.equal(new Set(rules.map((r) => r.id)).size, 4);
  assert.deepEqual(ownRuleIds([...rules, { id: 1 }, { id: 5000 }]).sort(), rules.map((r) => r.id).sort());
});
