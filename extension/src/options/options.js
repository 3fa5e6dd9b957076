/**
 * The options page: which backend (self-hosting), who is signed in, signing in and out, and the account's
 * tracking and notification settings (stored on the backend, so every client of the account shares them).
 */

import { BackendUrlError, normalizeBackendUrl, originPattern } from '../lib/backend-url.js';
import { describeError } from '../lib/errors.js';
import { listen, localize, send, t } from '../pages/page.js';

const $ = (id) => document.getElementById(id);
let state = null;

function say(id, text, { error = false } = {}) {
  const node = $(id);
  node.textContent = text;
  node.classList.toggle('error', error);
}

function failure(error) {
  const { key, detail } = describeError(error);
  return key === 'errorGeneric' && detail ? `${t(key)} (${detail})` : t(key);
}

function getPath(object, path) {
  return path.split('.').reduce((value, part) => value?.[part], object);
}

function render() {
  $('backend').value = state.backendUrl;
  $('extension-id').textContent = state.extensionId;
  $('who').textContent = state.signedIn
    ? t('connectedAs', [state.user?.name ? `${state.user.name} <${state.user.email}>` : state.user?.email ?? ''])
    : t('notConnected');
  $('sign-in').hidden = state.signedIn;
  $('sign-out').hidden = !state.signedIn;
  $('settings').hidden = !state.signedIn || !state.settings;
  if (state.settings) {
    for (const box of document.querySelectorAll('[data-setting]')) {
      box.checked = Boolean(getPath(state.settings, box.dataset.setting));
    }
    const quiet = state.settings.notifications?.quiet_hours ?? {};
    $('quiet-start').value = quiet.start ?? '';
    $('quiet-end').value = quiet.end ?? '';
  }
}

async function refresh() {
  state = await send('state');
  render();
}

$('save-backend').addEventListener('click', () => {
  let base;
  try {
    base = normalizeBackendUrl($('backend').value);
  } catch (error) {
    say('backend-status', t(error instanceof BackendUrlError ? error.reason : 'backendUrlInvalid'), { error: true });
    return;
  }
  // Asked here, inside the click: Chrome only shows the permission prompt in answer to a user gesture.
  const asked = chrome.permissions.request({ origins: [originPattern(base)] }).catch(() => false);
  (async () => {
    const granted = await asked;
    state = await send('setBackendUrl', { url: base });
    render();
    say('backend-status', granted ? t('backendSaved') : t('backendSavedNoPermission'), { error: !granted });
  })().catch((error) => say('backend-status', failure(error), { error: true }));
});

$('sign-in').addEventListener('click', async () => {
  say('account-status', t('signingIn'));
  $('sign-in').disabled = true;
  try {
    state = await send('signIn');
    render();
    say('account-status', '');
  } catch (error) {
    say('account-status', failure(error), { error: true });
  } finally {
    $('sign-in').disabled = false;
  }
});

$('sign-out').addEventListener('click', async () => {
  state = await send('signOut');
  render();
  say('account-status', t('signedOut'));
});

async function patch(body) {
  try {
    await send('patchSettings', { patch: body });
    await refresh();
    say('settings-status', t('settingsSaved'));
  } catch (error) {
    say('settings-status', failure(error), { error: true });
    await refresh();
  }
}

for (const box of document.querySelectorAll('[data-setting]')) {
  box.addEventListener('change', () => {
    const [section, key] = box.dataset.setting.split('.');
    patch({ [section]: { [key]: box.checked } });
  });
}

function saveQuiet() {
  const start = $('quiet-start').value;
  const end = $('quiet-end').value;
  if (!start || !end) return;
  patch({ notifications: {
    quiet_hours: { start, end }, timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' } });
}
$('quiet-start').addEventListener('change', saveQuiet);
$('quiet-end').addEventListener('change', saveQuiet);
$('quiet-clear').addEventListener('click', () => patch({ notifications: { quiet_hours: null } }));

localize();
listen({ session: (data) => { state = data; render(); } });
refresh();
