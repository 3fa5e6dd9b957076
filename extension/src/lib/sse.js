/**
 * An incremental Server-Sent Events parser (the WHATWG "event stream" interpretation), for reading our stream with
 * fetch(): EventSource can't send the Authorization header, so the service worker parses the bytes itself.
 *
 * Feed it decoded text in whatever chunks the network delivers; it calls `onEvent({type, data, id})` for every
 * complete event and `onRetry(ms)` when the server asks for a different reconnection delay. Comments (heartbeats)
 * are passed to `onComment` so the reader can tell a quiet stream from a dead one.
 */

export function createSseParser({ onEvent, onRetry = () => {}, onComment = () => {} }) {
  let buffer = '';
  let data = [];
  let type = '';
  let lastEventId = '';
  let sawCarriageReturn = false;

  function dispatch() {
    if (data.length === 0) {
      type = '';
      return;
    }
    const event = { type: type || 'message', data: data.join('\n'), id: lastEventId };
    data = [];
    type = '';
    onEvent(event);
  }

  function line(text) {
    if (text === '') {
      dispatch();
      return;
    }
    if (text.startsWith(':')) {
      onComment(text.slice(1).trim());
      return;
    }
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') type = value;
    else if (field === 'id') {
      if (!value.includes('\u0000')) lastEventId = value;
    } else if (field === 'retry') {
      if (/^\d+$/.test(value)) onRetry(Number(value));
    }
  }

  return {
    push(chunk) {
      let text = String(chunk);
      // A CRLF split across two chunks must count as one line break, not two.
      if (sawCarriageReturn && text.startsWith('\n')) text = text.slice(1);
      sawCarriageReturn = false;
      buffer += text;
      let start = 0;
      for (let i = 0; i < buffer.length; i += 1) {
        const ch = buffer[i];
        if (ch !== '\n' && ch !== '\r') continue;
        line(buffer.slice(start, i));
        if (ch === '\r') {
          if (i + 1 < buffer.length) {
            if (buffer[i + 1] === '\n') i += 1;
          } else {
            sawCarriageReturn = true;
          }
        }
        start = i + 1;
      }
      buffer = buffer.slice(start);
    },
    /** The stream ended: an incomplete event at the end is discarded, as the spec says. */
    end() {
      buffer = '';
      data = [];
      type = '';
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}
