import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { messages, ROOT } from './helpers.js';

const manifest = JSON.parse(readFileSync(join(ROOT, 'manifest.json'), 'utf8'));

function sources(dir = join(ROOT, 'src')) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : [path];
  });
}

const LANGUAGES = readdirSync(join(ROOT, '_locales'));

test('English and Turkish have the same keys with the same placeholders', () => {
  assert.deepEqual(LANGUAGES.sort(), ['en', 'tr']);
  const english = messages('en');
  const turkish = messages('tr');
  assert.deepEqual(Object.keys(turkish).sort(), Object.keys(english).sort());
  for (const [key, entry] of Object.entries(english)) {
    assert.deepEqual(Object.keys(turkish[key].placeholders ?? {}), Object.keys(entry.placeholders ?? {}), key);
    for (const name of Object.keys(entry.placeholders ?? {})) {
      assert.match(turkish[key].message, new RegExp(`\\$${name}\\$`, 'i'), `${key} in Turkish uses $${name}$`);
    }
  }
});

test('every string the code asks for exists', () => {
  const english = messages('en');
  const known = new Set(Object.keys(english).map((k) => k.toLowerCase()));
  const asked = new Set();
  for (const file of sources().filter((f) => /\.(js|html)$/.test(f))) {
    const text = readFileSync(file, 'utf8');
    for (const [, key] of text.matchAll(/\bt\(\s*'([A-Za-z_]+)'/g)) asked.add(key);
    for (const [, key] of text.matchAll(/data-i18n(?:-label|-title|-placeholder)?="([A-Za-z_]+)"/g)) asked.add(key);
    for (const [, key] of text.matchAll(/'((?:error|backendUrl)[A-Z][A-Za-z]+)'/g)) asked.add(key);
  }
  for (const [, key] of JSON.stringify(manifest).matchAll(/__MSG_([A-Za-z_]+)__/g)) asked.add(key);
  for (const suffix of ['Opens', 'Clicks']) asked.add(`toggle${suffix}Tooltip`);
  for (const status of ['queued', 'sending', 'sent', 'failed']) asked.add(`status_${status}`);
  const missing = [...asked].filter((key) => !known.has(key.toLowerCase()));
  assert.deepEqual(missing, []);
  assert.ok(asked.size > 60, `found ${asked.size} keys in use`);
});

test('the store description fits in 132 characters in every language', () => {
  for (const language of LANGUAGES) {
    assert.ok(messages(language).extensionDescription.message.length <= 132, language);
  }
});

test('the manifest is MV3 with a module service worker and no remote code', () => {
  assert.equal(manifest.manifest_version, 3);
  assert.equal(manifest.background.type, 'module');
  assert.equal(manifest.default_locale, 'en');
  assert.ok(!JSON.stringify(manifest).includes('content_security_policy'));
  for (const permission of ['storage', 'identity', 'alarms', 'notifications', 'declarativeNetRequest']) {
    assert.ok(manifest.permissions.includes(permission), permission);
  }
  assert.deepEqual(manifest.content_scripts[0].matches, ['https://mail.google.com/*']);
});

test('every file the manifest and the pages name exists', () => {
  const named = [
    manifest.background.service_worker, manifest.options_page, manifest.action.default_popup,
    ...Object.values(manifest.icons), ...Object.values(manifest.action.default_icon),
    ...manifest.content_scripts.flatMap((c) => [...c.js, ...(c.css ?? [])]),
  ];
  for (const path of named) assert.ok(existsSync(join(ROOT, path)), path);
  for (const page of sources().filter((f) => f.endsWith('.html'))) {
    for (const [, ref] of readFileSync(page, 'utf8').matchAll(/(?:src|href)="([^"]+)"/g)) {
      assert.ok(existsSync(resolve(dirname(page), ref)), `${relative(ROOT, page)} -> ${ref}`);
    }
  }
});

test('every module import resolves, and the Gmail modules are web-accessible for the loader', () => {
  const accessible = manifest.web_accessible_resources.flatMap((w) => w.resources)
    .map((glob) => new RegExp(`^${glob.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`));
  const reachable = new Set();
  const visit = (file) => {
    if (reachable.has(file)) return;
    reachable.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, spec] of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'/g)) {
      const target = resolve(dirname(file), spec);
      assert.ok(existsSync(target), `${relative(ROOT, file)} imports ${spec}`);
      visit(target);
    }
  };
  visit(join(ROOT, 'src/content/main.js'));
  for (const file of reachable) {
    const path = relative(ROOT, file).split('\\').join('/');
    assert.ok(accessible.some((re) => re.test(path)), `${path} must be web-accessible`);
  }
  for (const entry of ['src/background.js', 'src/options/options.js', 'src/popup/popup.js']) {
    visit(join(ROOT, entry));
  }
});

test('the manifest key gives the extension id the README documents', async () => {
  const { createHash } = await import('node:crypto');
  const digest = createHash('sha256').update(Buffer.from(manifest.key, 'base64')).digest('hex').slice(0, 32);
  const id = [...digest].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  assert.ok(readme.includes(id), `README names ${id}`);
});
