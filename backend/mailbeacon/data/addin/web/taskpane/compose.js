/* mailbeacon task pane, compose mode: the two toggles for this message.
 *
 * They start from this message's earlier choice (the item's sessionData, which the send handler reads too), else
 * from the account's composer defaults. A toggle the account settings switch off isn't shown, and says why.
 * A change is this message's choice at once and becomes the default for the next messages (the settings API
 * keeps "the last choice").
 */
(function (root) {
  "use strict";

  function mb() {
    return root.mailbeacon;
  }

  function renderState(s, tracking) {
    const view = mb().view;
    view.text("compose-state", s.t(tracking.track_opens || tracking.track_clicks ? "compose.willTrack" : "compose.willNotTrack"));
  }

  function renderNotes(s, tracking, extra) {
    const view = mb().view;
    const list = view.el("compose-notes");
    view.clear(list);
    const notes = [];
    if (!tracking.opens_allowed && !tracking.clicks_allowed) notes.push(s.t("compose.trackingOff"));
    else if (!tracking.opens_allowed) notes.push(s.t("compose.opensOff"));
    else if (!tracking.clicks_allowed) notes.push(s.t("compose.clicksOff"));
    if (extra) notes.push(extra);
    notes.forEach(function (note) { list.appendChild(view.make("li", "", note)); });
  }

  async function show(app) {
    const view = mb().view;
    const s = app.s;
    view.section("compose");
    const opens = view.el("track-opens");
    const clicks = view.el("track-clicks");
    const loaded = await Promise.all([app.api.settings(), mb().choice.read()]);
    const settings = loaded[0];
    let tracking = mb().choice.effective(settings, loaded[1]);
    view.show("opens-toggle", tracking.opens_allowed);
    view.show("clicks-toggle", tracking.clicks_allowed);
    opens.checked = tracking.track_opens;
    clicks.checked = tracking.track_clicks;
    renderState(s, tracking);
    renderNotes(s, tracking);

    async function changed() {
      const choice = { track_opens: opens.checked, track_clicks: clicks.checked };
      tracking = mb().choice.effective(settings, choice);
      renderState(s, tracking);
      await mb().choice.write(choice);
      const defaults = {};
      if (tracking.opens_allowed) defaults.track_opens = choice.track_opens;
      if (tracking.clicks_allowed) defaults.track_clicks = choice.track_clicks;
      try {
        await app.api.patchSettings({ composer_defaults: defaults });
        renderNotes(s, tracking, s.t("compose.remembered"));
      } catch (err) {
        renderNotes(s, tracking, app.describe(err)); // this message's choice holds; only the default wasn't saved
      }
    }
    opens.onchange = changed;
    clicks.onchange = changed;
    view.ready("compose");
  }

  (root.mailbeacon = root.mailbeacon || {}).compose = { show: show };
})(globalThis);
