/**
 * The toolbar popup: the bell's list — every open and click the backend reported, newest first, unread ones
 * marked — with mark-read (one by clicking it, or all), and sign-in when signed out.
 */

import { describeError } from '../lib/errors.js';
import { uiLocale } from '../lib/i18n.js';
import { notificationText } from '../lib/status-text.js';
import { relativeTime } from '../lib/time-format.js';
import { listen, localize, send, t } from '../pages/page.js';

const $ = (id) => document.getElementById(id);
const locale = uiLocale();

function showUnread(count) {
  $('unread').textContent = count > 0 ? String(count) : '';
  $('unread').setAttribute('aria-label', t('badgeUnread', [String(count)]));
}

function noteItem(note) {
  const { title, body } = notificationText(note, t);
  const button = document.createElement('button');
  button.type = 'button';
  button.className = `note ${note.read ? 'read' : 'unread'}`;
  button.dataset.note = String(note.id);
  const dot = document.createElement('span');
  dot.className = 'dot';
  const text = document.createElement('span');
  text.className = 'text';
  const heading = document.createElement('span');
  heading.className = 'title';
  heading.textContent = title;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `${relativeTime(note.at ?? note.created_at, { locale })} · ${body}`;
  text.append(heading, meta);
  button.append(dot, text);
  button.addEventListener('click', async () => {
    if (!note.read) {
      const result = await send('markRead', { ids: [note.id] });
      showUnread(result.unread);
      button.classList.replace('unread', 'read');
      note.read = true;
    }
    if (note.thread_id) await send('openThread', { threadId: note.thread_id });
  });
  const item = document.createElement('li');
  item.append(button);
  return item;
}

async function loadNotes() {
  const page = await send('notifications', { limit: 30 });
  $('notes').replaceChildren(...page.notifications.map(noteItem));
  $('empty').hidden = page.notifications.length > 0;
  showUnread(page.unread);
}

async function render(state) {
  $('signed-out').hidden = state.signedIn;
  $('signed-in').hidden = !state.signedIn;
  if (!state.signedIn) {
    showUnread(0);
    return;
  }
  $('who').textContent = t('connectedAs', [state.user?.email ?? '']);
  await loadNotes().catch(() => {});
}

$('options').addEventListener('click', () => chrome.runtime.openOptionsPage());
$('mark-all').addEventListener('click', async () => {
  const result = await send('markRead', { all: true });
  showUnread(result.unread);
  await loadNotes();
});
$('sign-in').addEventListener('click', async () => {
  $('sign-in-status').textContent = t('signingIn');
  try {
    await render(await send('signIn'));
    $('sign-in-status').textContent = '';
  } catch (error) {
    $('sign-in-status').textContent = t(describeError(error).key);
  }
});

localize();
listen({
  session: (state) => render(state),
  notification: () => loadNotes().catch(() => {}),
  unread: (data) => showUnread(data.unread),
});
send('state').then(render);
