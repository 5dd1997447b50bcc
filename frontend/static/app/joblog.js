// Job page: the log viewer (REST backfill, then the websocket tail) and the live status (the
// page's parts, rendered by the server and sent over the same websocket).
//
// Every chunk has a number (seq). `lastSeq` is the last one written to the terminal:
// - a chunk with seq <= lastSeq is dropped (no duplicates, whichever path brought it);
// - a chunk with seq > lastSeq + 1 first fetches the missing ones over REST (no gaps);
// - all writes go through one promise chain, so they happen in seq order.
// The view follows the end only if it was at the bottom before a write (no scroll yank).
(() => {
  "use strict";

  const root = document.getElementById("job-log");
  if (!root || !window.Terminal) return;

  function withStyleNonce(run) {
    const nonce = document.querySelector('meta[name="csp-nonce"]')?.content;
    if (!nonce) return run();
    const create = document.createElement;
    document.createElement = function (tag, options) {
      const el = create.call(this, tag, options);
      if (String(tag).toLowerCase() === "style") el.nonce = nonce;
      return el;
    };
    try {
      return run();
    } finally {
      document.createElement = create;
    }
  }

  const PAGE = 500;
  const jump = root.querySelector(".jump");
  const live = document.getElementById("log-live");

  const term = new window.Terminal({
    disableStdin: true,
    cursorBlink: false,
    scrollback: 100000,
    fontSize: 13,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace',
    theme: { background: "#111722", foreground: "#e6e6e6" },
  });
  const fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  // xterm's renderer adds two <style> elements of its own; the page's CSP lets them in only
  // with the nonce the server gave this response (meta csp-nonce).
  withStyleNonce(() => term.open(root.querySelector(".term")));
  fit.fit();
  window.addEventListener("resize", () => fit.fit());

  let lastSeq = 0;
  let chain = Promise.resolve();
  let socket = null;

  const atBottom = () => term.buffer.active.viewportY >= term.buffer.active.baseY;
  const updateJump = () => {
    jump.hidden = atBottom();
  };
  term.onScroll(updateJump);
  root.querySelector(".xterm-viewport")?.addEventListener("scroll", updateJump);
  jump.addEventListener("click", () => {
    term.scrollToBottom();
    updateJump();
  });

  // Writes the chunk if it is new; returns whether it was written.
  function write(chunk) {
    if (chunk.seq <= lastSeq) return false;
    const follow = atBottom();
    lastSeq = chunk.seq;
    root.dataset.lastSeq = String(lastSeq);
    term.write(chunk.text.replace(/\r?\n/g, "\r\n"), () => {
      if (follow) term.scrollToBottom();
      updateJump();
    });
    return true;
  }

  // Writes the chunks after lastSeq from the REST API, page by page, up to `until`.
  async function backfill(until = Infinity) {
    for (;;) {
      const limit = Math.min(PAGE, until - lastSeq);
      if (limit <= 0) return;
      const url = `${root.dataset.logUrl}?after_seq=${lastSeq}&limit=${limit}`;
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
      const page = await response.json();
      page.chunks.forEach(write);
      if (!page.more || page.chunks.length === 0) return;
    }
  }

  // Queues work after every earlier write; a failure drops the socket so the resume refetches.
  function queue(work) {
    chain = chain.then(work).catch((error) => {
      console.warn("job log:", error);
      if (socket) socket.drop();
    });
    return chain;
  }

  function onChunk(chunk) {
    queue(async () => {
      if (chunk.seq <= lastSeq) return;
      if (chunk.seq > lastSeq + 1) await backfill(chunk.seq - 1);
      write(chunk);
    });
  }

  // A finished job gets no more output: the "live" badge goes.
  function showEnded() {
    const status = document.getElementById("job-status")?.dataset.status;
    if (live) live.hidden = (root.dataset.finished || "").split(" ").includes(status);
  }

  // The job's status changed: the socket sends the page's live parts (head, progress and
  // steps, details) as the server renders them for this user, in their zone.
  function onStatus(msg) {
    if (!msg.html) return;
    window.npufleet.swapFragments(document, msg.html);
    showEnded();
  }

  // Tails the websocket from lastSeq; after a drop, reconnects with backoff from the new lastSeq
  // once every write queued so far is done.
  function connect() {
    socket = window.npufleet.connect(() => `${root.dataset.wsPath}?after_seq=${lastSeq}&fragments=1`, {
      badge: live,
      ready: () => chain,
      onMessage: (msg) => {
        if (msg.type === "log") onChunk(msg);
        else if (msg.type === "status") onStatus(msg);
      },
    });
  }

  // Rendered text, one entry per logical line (wrapped rows joined), for tests and debugging.
  function lines() {
    const buffer = term.buffer.active;
    const out = [];
    for (let i = 0; i < buffer.length; i++) {
      const row = buffer.getLine(i);
      const text = row.translateToString(true);
      if (row.isWrapped && out.length) out[out.length - 1] += text;
      else out.push(text);
    }
    while (out.length && out[out.length - 1] === "") out.pop();
    return out;
  }

  window.jobLog = {
    get lastSeq() {
      return lastSeq;
    },
    lines,
    term,
    dropSocket: () => socket && socket.drop(),
  };

  queue(() => backfill()).then(connect);
})();
