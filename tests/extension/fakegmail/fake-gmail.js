// A stand-in for Gmail's web page, for the extension's browser tests. It renders Gmail-shaped markup (the compose
// window from a real capture, list rows and conversation headers in the shape of Gmail's since 2018) and behaves
// the way the extension depends on: autosave fills input[name=draft] with "#msg-a:<id>" after the first save, the
// Send button acts on mouseup (as Gmail's buttons do) and Ctrl+Enter sends, closing saves only unsaved changes.
// Its "server" is the test itself, behind /_fake/ (routed by Playwright to the Google stand-in).
(() => {
  'use strict';

  const dock = document.getElementById('compose-dock');
  const main = document.querySelector('div[role="main"]');
  const template = document.getElementById('compose-template');
  const variant = new URLSearchParams(location.search).get('variant') || '';
  let composeCount = 0;

  async function call(path, body) {
    const response = await fetch(`/_fake/${path}`, body === undefined ? {} : {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.json();
  }

  function toast(text) {
    let box = document.querySelector('.fake-toast');
    if (!box) {
      box = document.createElement('div');
      box.className = 'fake-toast';
      document.body.append(box);
    }
    box.textContent = text;
  }

  // --- compose windows -------------------------------------------------------------------------------------

  function uniqueIds(root, suffix) {
    for (const node of root.querySelectorAll('[id]')) node.id = `${node.id}-${suffix}`;
    for (const node of root.querySelectorAll('[aria-labelledby]')) {
      node.setAttribute('aria-labelledby', `${node.getAttribute('aria-labelledby')}-${suffix}`);
    }
  }

  class Compose {
    constructor({ inline = false, threadId = null, to = '', subject = '', into = null }) {
      this.number = ++composeCount;
      this.threadId = threadId;
      this.dirty = false;
      this.version = 0;
      this.saving = null;
      const fragment = template.content.cloneNode(true);
      const dialog = fragment.querySelector('div[role="dialog"]');
      uniqueIds(fragment, this.number);
      if (inline) {
        // An inline reply: Gmail shows the compose form under the conversation, without the dialog's title bar.
        this.element = document.createElement('div');
        this.element.className = 'ip adB';
        this.element.append(fragment.querySelector('div.M9'));
        into.append(this.element);
      } else {
        this.element = fragment.firstElementChild;
        dock.append(fragment);
      }
      this.root = this.element.querySelector('div.M9');
      this.dialog = dialog;
      this.root.querySelector('input[name="composeid"]').value = String(this.number);
      this.draftInput = this.root.querySelector('input[name="draft"]');
      this.draftInput.value = 'undefined'; // what Gmail holds before the first save
      if (variant === 'no-draft-input') this.draftInput.remove(); // "Gmail changed its DOM"
      this.root.querySelector('input[name="rt"]').value = threadId ? `#thread-f:${BigInt(`0x${threadId}`)}` : '';
      this.root.querySelector('.fX').style.display = '';
      this.to = this.root.querySelector('textarea[name="to"]');
      this.subject = this.root.querySelector('input[name="subjectbox"]');
      this.body = this.root.querySelector('div.Am[contenteditable="true"]');
      this.send = this.root.querySelector('div.T-I.aoO[role="button"]');
      this.to.value = to;
      this.subject.value = subject;
      this.body.innerHTML = '';
      this.wire();
      this.element.dataset.fakeCompose = String(this.number);
    }

    wire() {
      const changed = () => this.change();
      for (const field of [this.to, this.subject, this.body]) field.addEventListener('input', changed);
      // Gmail counts keystrokes as edits (extensions nudge its autosave this way).
      this.body.addEventListener('keydown', changed);
      // Gmail's buttons act on mouseup; keyboard users press Enter or Space on them; Ctrl/Cmd+Enter sends.
      this.send.addEventListener('mouseup', () => this.sendNow());
      this.send.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') this.sendNow();
      });
      this.root.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) this.sendNow();
      });
      const close = (this.dialog ?? this.element).querySelector('img.Ha');
      close?.addEventListener('click', () => this.close());
    }

    change() {
      this.dirty = true;
      this.version += 1;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.save(), 400);
    }

    fields() {
      return { to: this.to.value, subject: this.subject.value, html: this.body.innerHTML, thread: this.threadId };
    }

    draftId() {
      const value = this.draftInput?.value ?? this.lastDraftId ?? '';
      return value.startsWith('#msg-a:') ? value.slice('#msg-a:'.length) : null;
    }

    async save() {
      if (this.saving) await this.saving;
      if (!this.dirty || !this.element.isConnected) return;
      const version = this.version;
      this.saving = call('autosave', { draft: this.draftId() ?? this.lastDraftId ?? null, ...this.fields() })
        .then(({ draftId }) => {
          this.lastDraftId = draftId;
          if (this.draftInput) this.draftInput.value = `#msg-a:${draftId}`;
          if (this.version === version) this.dirty = false;
        })
        .finally(() => { this.saving = null; });
      return this.saving;
    }

    async sendNow() {
      if (this.sent) return;
      this.sent = true;
      if (this.saving) await this.saving;
      await call('send', { draft: this.draftId() ?? this.lastDraftId ?? null, ...this.fields() });
      this.remove();
      toast('Message sent');
    }

    async close() {
      if (this.dirty) await this.save(); // "Save & close"
      this.remove();
    }

    remove() {
      clearTimeout(this.timer);
      this.element.remove();
    }
  }

  window.fakeGmail = { Compose, composes: () => [...document.querySelectorAll('[data-fake-compose]')] };

  document.getElementById('fake-compose').addEventListener('click', () => new Compose({}));

  // --- lists and conversations ------------------------------------------------------------------------------

  function cell(className, children) {
    const td = document.createElement('td');
    td.className = className;
    td.append(...children);
    return td;
  }

  function span(attributes, text) {
    const node = document.createElement('span');
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text != null) node.textContent = text;
    return node;
  }

  async function showList(label) {
    const { rows } = await call(`list?label=${encodeURIComponent(label)}`);
    const table = document.createElement('table');
    table.className = 'F cf zt';
    const tbody = document.createElement('tbody');
    rows.forEach((row, index) => {
      const tr = document.createElement('tr');
      tr.className = 'zA yO';
      tr.id = `:r${index}`;
      tr.setAttribute('role', 'row');
      tr.tabIndex = -1;
      const subject = span({ 'data-thread-id': `#thread-f:${row.decimal}`, 'data-legacy-thread-id': row.thread_id },
        row.subject);
      tr.append(
        cell('oZ-x3 xY', []),
        cell('yX xY', [span({ class: 'bA4' }, `To: ${row.to}`)]),
        cell('xY a4W', [span({ class: 'bog' }, null)]),
        cell('xW xY', [span({ title: row.date }, row.time)]),
      );
      tr.querySelector('.bog').append(subject);
      // Modern Gmail links conversations by an opaque id, not the hex id the extension needs.
      tr.addEventListener('click', () => { location.hash = `#${label}/FMfcgz${row.thread_id}`; });
      tbody.append(tr);
    });
    table.append(tbody);
    main.replaceChildren(table);
  }

  async function showThread(threadId) {
    const thread = await call(`thread/${threadId}`);
    const header = document.createElement('div');
    header.className = 'ha';
    const h2 = document.createElement('h2');
    h2.className = 'hP';
    h2.dataset.threadPermId = `thread-f:${thread.decimal}`;
    h2.dataset.legacyThreadId = thread.thread_id;
    h2.textContent = thread.subject;
    header.append(h2);
    const messages = thread.messages.map((message) => {
      const box = document.createElement('div');
      box.className = 'adn ads';
      box.dataset.messageId = `#msg-f:${message.decimal}`;
      const from = document.createElement('div');
      from.className = 'gE';
      from.textContent = `${message.from} to ${message.to}`;
      const body = document.createElement('div');
      body.className = 'a3s aiL';
      body.innerHTML = message.html; // already proxied the way Gmail rewrites images
      box.append(from, body);
      return box;
    });
    const reply = span({ class: 'ams bkH', role: 'link', tabindex: '0' }, 'Reply');
    const replyArea = document.createElement('div');
    replyArea.className = 'amn';
    replyArea.append(reply);
    reply.addEventListener('click', () => {
      new Compose({ inline: true, threadId, to: thread.messages[0].to, subject: `Re: ${thread.subject}`,
        into: replyArea });
    });
    main.replaceChildren(header, ...messages, replyArea);
  }

  async function route() {
    const [label, id] = location.hash.replace(/^#/, '').split('/');
    if (id) {
      await showThread(id.replace(/^FMfcgz/, ''));
    } else {
      await showList(label || 'inbox');
    }
  }

  window.addEventListener('hashchange', () => { route(); });
  route();
})();
