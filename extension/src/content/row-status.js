/**
 * The tracking status of threads on screen, shared by the list icons and the conversation bar: looked up in
 * batches (one request for every row that appeared in the same moment; the worker splits at 100), cached, and
 * invalidated when a notification or a send names the thread.
 */

const TRACKED_TTL_MS = 60_000;
const UNTRACKED_TTL_MS = 10 * 60_000;
const BATCH_DELAY_MS = 120;

export class RowStatus {
  constructor(ask) {
    this.ask = ask;
    this.cache = new Map(); // threadId -> {row, at}
    this.waiting = new Map(); // threadId -> [resolve]
    this.timer = null;
    this.listeners = new Set();
  }

  /** The cached status, or undefined when unknown or stale. */
  peek(threadId) {
    const hit = this.cache.get(threadId);
    if (!hit) return undefined;
    const ttl = hit.row.tracked ? TRACKED_TTL_MS : UNTRACKED_TTL_MS;
    return Date.now() - hit.at < ttl ? hit.row : undefined;
  }

  /** True when we know the thread holds no tracked message (so opening it needs no "viewing" signal). */
  knownUntracked(threadId) {
    const hit = this.cache.get(threadId);
    return Boolean(hit && !hit.row.tracked);
  }

  get(threadId) {
    const known = this.peek(threadId);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      const list = this.waiting.get(threadId) ?? [];
      list.push(resolve);
      this.waiting.set(threadId, list);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush(), BATCH_DELAY_MS);
    });
  }

  async flush() {
    const batch = new Map(this.waiting);
    this.waiting.clear();
    if (!batch.size) return;
    let rows = {};
    try {
      rows = await this.ask('rowStatus', { threadIds: [...batch.keys()] });
    } catch {
      rows = {}; // offline or signed out: nothing is drawn, nothing breaks
    }
    const now = Date.now();
    for (const [threadId, resolvers] of batch) {
      const row = rows[threadId];
      if (row) this.cache.set(threadId, { row, at: now });
      for (const resolve of resolvers) resolve(row ?? { tracked: false, unknown: true });
    }
    this.notify([...batch.keys()].filter((id) => rows[id]));
  }

  /** Forget a thread (a notification or a send named it) and tell the features to draw it again. */
  invalidate(threadId) {
    if (!threadId) return;
    this.cache.delete(threadId);
    this.notify([threadId]);
  }

  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(threadIds) {
    if (!threadIds.length) return;
    for (const listener of this.listeners) listener(threadIds);
  }
}
