// Behaviour every page shares, kept out of the templates so the Content-Security-Policy can
// forbid inline scripts and styles:
//   data-autosubmit      on a form control: submit its form when the value changes;
//   data-confirm="text"  on a form: ask before submitting;
//   data-width="37"      width: 37% (progress and memory bars);
//   data-hue="210"       the --hue custom property (team colours on the timeline);
//   data-copy="id"       on a button: copy the text of the element with that id (a command).
// Sizes and colours are set through the style object, which the policy allows, on the page
// and on every fragment added later (htmx swaps, live updates).
//
// The page scripts share what is written once here, as window.npufleet:
//   connect(path, options)   a websocket that reconnects with backoff and shows its state;
//   swapFragments(root, html) put the [data-fragment] parts of server-rendered HTML in place;
//   copy(button)             what a data-copy button does.
(() => {
  "use strict";

  const STYLED = "[data-width], [data-hue]";

  function applyStyle(el) {
    if (el.dataset.width !== undefined) el.style.width = `${Number(el.dataset.width) || 0}%`;
    if (el.dataset.hue !== undefined) el.style.setProperty("--hue", String(Number(el.dataset.hue) || 0));
  }

  function applyStyles(root) {
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    if (root.matches(STYLED)) applyStyle(root);
    root.querySelectorAll(STYLED).forEach(applyStyle);
  }

  document.addEventListener("change", (event) => {
    const control = event.target;
    if (!(control instanceof Element) || !control.matches("[data-autosubmit]") || !control.form) return;
    if (control.form.requestSubmit) control.form.requestSubmit();
    else control.form.submit();
  });

  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true,
  );

  // Copies the text of the element a data-copy button names. Without the clipboard API (plain
  // http on another host) the copy command is tried; failing that the text is selected for Ctrl+C.
  function copy(button) {
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    const text = source.textContent;
    const done = () => {
      button.textContent = "Copied";
      button.classList.add("done");
      setTimeout(() => {
        button.textContent = "Copy";
        button.classList.remove("done");
      }, 1500);
    };
    const fallback = () => {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      let copied = false;
      try {
        copied = document.execCommand("copy");
      } catch {
        copied = false;
      }
      area.remove();
      if (copied) return done();
      getSelection().selectAllChildren(source);
      button.textContent = "Selected: press Ctrl+C";
      setTimeout(() => (button.textContent = "Copy"), 2500);
    };
    if (navigator.clipboard && window.isSecureContext)
      navigator.clipboard.writeText(text).then(done, fallback);
    else fallback();
  }

  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element && event.target.closest("button[data-copy]");
    if (button) copy(button);
  });

  // Opens the websocket at `path` (or at what the function `path` answers, asked at every
  // attempt) and keeps it open: after a drop it connects again after 1 s, doubling up to 30 s,
  // unless the server closed it with one of `stopCodes` (not signed in, not allowed).
  //   badge      the element that shows the state (data-state connecting/open/retry/closed);
  //   onMessage  called with every message, parsed from JSON;
  //   onOpen     called with true when the socket opened again after a drop (updates may
  //              have been missed), false the first time;
  //   ready      optional: a function whose promise is awaited before connecting again.
  // Returns { send(message), drop() }: drop closes the socket, which then reconnects.
  function connect(path, { badge, onMessage, onOpen, ready, stopCodes = [4401, 4403] } = {}) {
    const show = (state, text) => {
      if (!badge) return;
      badge.dataset.state = state;
      badge.textContent = text;
    };
    let delay = 1000;
    let opened = false;
    let socket = null;
    const open = () => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const where = typeof path === "function" ? path() : path;
      const ws = new WebSocket(`${scheme}://${location.host}${where}`);
      socket = ws;
      ws.onopen = () => {
        delay = 1000;
        show("open", "live");
        if (onOpen) onOpen(opened);
        opened = true;
      };
      ws.onmessage = (event) => {
        if (onMessage) onMessage(JSON.parse(event.data));
      };
      ws.onclose = (event) => {
        if (socket === ws) socket = null;
        if (stopCodes.includes(event.code)) {
          show("closed", "not allowed");
          return;
        }
        show("retry", `reconnecting in ${Math.round(delay / 1000)} s…`);
        setTimeout(() => Promise.resolve(ready ? ready() : null).then(open), delay);
        delay = Math.min(delay * 2, 30000);
      };
    };
    open();
    return {
      send(message) {
        if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
      },
      drop() {
        if (socket) socket.close();
      },
    };
  }

  // Replaces the content of each [data-fragment] under root with the same fragment of `html`
  // (the page's own templates, rendered by the server for this user).
  function swapFragments(root, html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    for (const fresh of doc.querySelectorAll("[data-fragment]")) {
      const target = root.querySelector(`[data-fragment="${fresh.dataset.fragment}"]`);
      if (target) target.replaceChildren(...[...fresh.childNodes].map((n) => document.importNode(n, true)));
    }
  }

  window.npufleet = { connect, copy, swapFragments };

  function start() {
    applyStyles(document.body);
    new MutationObserver((changes) => {
      changes.forEach((change) => change.addedNodes.forEach(applyStyles));
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
