/**
 * The Gmail side of the extension: asks the worker who is signed in, opens the live port, and starts each
 * feature. A feature that fails to start is logged and left out; the others, and Gmail, carry on.
 */

import { ask, connectLive } from './bridge.js';
import { RowStatus } from './row-status.js';
import * as composeToggles from '../features/compose-toggles.js';
import * as trackedSend from '../features/tracked-send.js';
import * as sentListIcons from '../features/sent-list-icons.js';
import * as threadBar from '../features/thread-bar.js';
import * as trackedPanel from '../features/tracked-panel.js';
import * as viewingSignal from '../features/viewing-signal.js';

const FEATURES = { viewingSignal, composeToggles, trackedSend, sentListIcons, threadBar, trackedPanel };

export async function boot() {
  if (window.__mailbeacon) return; // injected twice (extension reloaded): the first copy stays in charge
  const events = new EventTarget();
  const ctx = {
    ask,
    events,
    state: await ask('state'),
    rows: new RowStatus(ask),
    async refreshState() {
      try {
        ctx.state = await ask('state');
        events.dispatchEvent(new CustomEvent('session', { detail: ctx.state }));
      } catch {
        // The worker is gone (extension reloaded): keep the last state; nothing new will be sent.
      }
    },
  };
  window.__mailbeacon = ctx;

  // The session event updates the state before any feature's own listener runs (listeners run in order).
  events.addEventListener('session', (event) => { if (event.detail) ctx.state = event.detail; });
  events.addEventListener('notification', (event) => ctx.rows.invalidate(event.detail?.thread_id));
  events.addEventListener('message-event', (event) => ctx.rows.invalidate(event.detail?.thread_id));
  events.addEventListener('tracked-sent', (event) => ctx.rows.invalidate(event.detail?.thread_id));
  events.addEventListener('reconnected', () => ctx.refreshState());
  connectLive(events);

  for (const [name, feature] of Object.entries(FEATURES)) {
    try {
      feature.start(ctx);
    } catch (error) {
      console.info(`[mailbeacon] ${name} is off on this page:`, error?.message ?? error);
    }
  }
}
