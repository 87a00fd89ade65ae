// The helpdesk chat widget: one <script> tag, no framework, no globals but one flag.
// Everything lives in a shadow root under a custom element, so the host page's CSS cannot
// reach in and ours cannot leak out. Text is only ever set with textContent.
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || !script.dataset.site || window.__helpdeskChatLoaded) return;
  window.__helpdeskChatLoaded = true;

  const site = script.dataset.site;
  const userId = script.dataset.userId || "";
  const userHash = script.dataset.userHash || "";
  const api = (path) => `${new URL(script.src).origin}/chat/api${path}`;
  const storeKey = `helpdesk-chat:${site}`;

  // --- what survives page loads and is shared by tabs --------------------------------------
  const load = () => {
    try {
      const saved = JSON.parse(localStorage.getItem(storeKey) || "{}");
      // A different logged-in user (or a logout) on this browser starts a conversation of their own.
      return saved.user === userId ? saved : { user: userId };
    } catch (_) {
      return { user: userId };
    }
  };
  const save = () => {
    try {
      localStorage.setItem(storeKey, JSON.stringify(state));
    } catch (_) {
      /* private mode: the conversation lasts as long as the page */
    }
  };
  let state = load();
  state.pending = state.pending || [];

  const newId = () => {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  };

  const post = (path, body) =>
    fetch(api(path), {
      method: "POST",
      // text/plain keeps it a "simple" cross-origin request: no preflight round trip.
      headers: { "Content-Type": "text/plain;charset=UTF-8" },
      body: JSON.stringify(body),
      mode: "cors",
      credentials: "omit",
    });

  // --- the interface --------------------------------------------------------------------------
  const host = document.createElement("helpdesk-chat");
  const root = host.attachShadow({ mode: "open" });
  root.innerHTML = `
<style>
  :host { all: initial; }
  * { box-sizing: border-box; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2433; margin: 0; }
  .launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; border: 0; border-radius: 999px; padding: 12px 18px; background: #2457c5; color: #fff; font-weight: 600; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); }
  .launcher:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible { outline: 3px solid #f0b429; outline-offset: 2px; }
  .panel { position: fixed; right: 20px; bottom: 80px; z-index: 2147483000; width: min(360px, calc(100vw - 40px)); height: min(540px, calc(100vh - 110px)); display: flex; flex-direction: column; background: #fff; border-radius: 12px; box-shadow: 0 10px 40px rgba(0,0,0,.3); overflow: hidden; }
  .panel[hidden] { display: none; }
  header { background: #2457c5; padding: 12px 16px; }
  header h2 { color: #fff; font-weight: 700; font-size: 16px; }
  header p { color: #dbe6ff; font-size: 13px; }
  .log { list-style: none; padding: 12px; flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: 8px; background: #f5f7fb; }
  .log li { max-width: 85%; padding: 8px 12px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; background: #fff; border: 1px solid #dde3ee; align-self: flex-start; }
  .log li.mine { align-self: flex-end; background: #2457c5; border-color: #2457c5; }
  .log li.mine, .log li.mine * { color: #fff; }
  .log li.pending { opacity: .6; }
  .log .who { display: block; font-size: 12px; font-weight: 600; opacity: .8; }
  .log .by-email { display: block; font-size: 12px; font-style: italic; }
  .log a.file { display: block; margin-top: 4px; font-size: 13px; color: #2457c5; overflow-wrap: anywhere; }
  .typing { min-height: 20px; padding: 0 12px; font-size: 13px; font-style: italic; color: #5b6475; background: #f5f7fb; }
  form { padding: 10px 12px 12px; border-top: 1px solid #dde3ee; display: flex; flex-direction: column; gap: 6px; }
  label, legend { font-size: 13px; font-weight: 600; display: flex; flex-direction: column; gap: 2px; }
  fieldset { border: 0; padding: 0; }
  fieldset label { flex-direction: row; align-items: center; gap: 6px; font-weight: 400; }
  input[type=text], input[type=email], textarea { width: 100%; padding: 6px 8px; border: 1px solid #b8c2d3; border-radius: 6px; background: #fff; font-weight: 400; }
  textarea { resize: none; height: 60px; }
  .prechat { display: flex; flex-direction: column; gap: 6px; }
  .email-label { font-size: 13px; font-weight: 600; }
  .prechat[hidden] { display: none; }
  .error { color: #b42318; font-size: 13px; }
  .error:empty { display: none; }
  .rating { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 8px; }
  .rating button { min-width: 28px; padding: 4px 6px; border: 1px solid #2457c5; border-radius: 6px; background: #fff; color: #2457c5; font-weight: 600; cursor: pointer; }
  .rating button[aria-pressed=true] { background: #2457c5; color: #fff; }
  .rating button:disabled { cursor: default; }
  .rating-ends { display: flex; justify-content: space-between; font-size: 12px; color: #5b6475; margin-top: 2px; }
  .rating-comment { display: flex; flex-direction: column; gap: 4px; margin-top: 8px; }
  .rating-comment button, .send { align-self: flex-end; border: 0; border-radius: 6px; padding: 6px 12px; background: #2457c5; color: #fff; font-weight: 600; cursor: pointer; }
  .rating-thanks { display: block; margin-top: 6px; font-size: 13px; font-style: italic; }
  .send { align-self: flex-end; border: 0; border-radius: 6px; padding: 8px 16px; background: #2457c5; color: #fff; font-weight: 600; cursor: pointer; }
</style>
<button class="launcher" type="button" aria-expanded="false" aria-controls="panel">Open chat</button>
<section class="panel" id="panel" role="dialog" aria-labelledby="title" hidden>
  <header><h2 id="title">Chat</h2><p class="status"></p></header>
  <ol class="log" role="log" aria-live="polite" aria-label="Conversation"></ol>
  <p class="typing" aria-live="polite"></p>
  <form novalidate>
    <div class="prechat">
      <label>Name <input type="text" name="name" autocomplete="name" maxlength="120"></label>
      <label><span class="email-label">Email</span> <input type="email" name="email" autocomplete="email" maxlength="254"></label>
      <fieldset><legend>What can we help with?</legend><div class="choices"></div></fieldset>
    </div>
    <label>Message <textarea name="text" maxlength="4000"></textarea></label>
    <p class="error" role="alert"></p>
    <button class="send" type="submit">Send</button>
  </form>
</section>`;
  const $ = (selector) => root.querySelector(selector);
  const launcher = $(".launcher");
  const panel = $(".panel");
  const log = $(".log");
  const form = $("form");
  const errorLine = $(".error");
  const typingLine = $(".typing");
  const shown = new Set();

  launcher.addEventListener("click", () => {
    const open = panel.hidden;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.textContent = open ? "Close chat" : "Open chat";
    if (open) (state.token ? form.elements.text : form.elements.name).focus();
  });

  const bubble = (text, mine, who, note) => {
    const item = document.createElement("li");
    if (mine) item.className = "mine";
    if (who) {
      const name = document.createElement("span");
      name.className = "who";
      name.textContent = who;
      item.append(name);
    }
    item.append(document.createTextNode(text));
    if (note) {
      const extra = document.createElement("span");
      extra.className = "by-email";
      extra.textContent = note;
      item.append(extra);
    }
    log.append(item);
    log.scrollTop = log.scrollHeight;
    return item;
  };

  const pendingBubbles = new Map();
  const showPending = (message) => {
    if (pendingBubbles.has(message.client_id)) return;
    const item = bubble(message.text, true, "You");
    item.classList.add("pending");
    pendingBubbles.set(message.client_id, item);
  };

  // --- the survey question: buttons send the score as a bare number, which answers it without
  // reopening anything; then an optional comment goes to its own endpoint -------------------
  const ratingButtons = (survey) => {
    const rated = { id: null }; // the client id of the latest rating sent
    const block = document.createElement("div");
    const row = document.createElement("div");
    row.className = "rating";
    row.setAttribute("role", "group");
    row.setAttribute("aria-label", `Your rating, ${survey.scores[0]} (${survey.low}) to ${survey.scores[survey.scores.length - 1]} (${survey.high})`);
    survey.scores.forEach((score) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = String(score);
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => {
        row.querySelectorAll("button").forEach((each) => {
          each.setAttribute("aria-pressed", String(each === button));
        });
        rated.id = sendText(String(score));
        if (!block.querySelector(".rating-comment")) block.append(commentBox(rated));
      });
      row.append(button);
    });
    const ends = document.createElement("div");
    ends.className = "rating-ends";
    const low = document.createElement("span");
    low.textContent = survey.low;
    const high = document.createElement("span");
    high.textContent = survey.high;
    ends.append(low, high);
    block.append(row, ends);
    return block;
  };

  const commentBox = (rated) => {
    const box = document.createElement("div");
    box.className = "rating-comment";
    const label = document.createElement("label");
    label.textContent = "Anything you'd like to add? (optional)";
    const text = document.createElement("textarea");
    text.maxLength = 2000;
    label.append(text);
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Send comment";
    const note = document.createElement("span");
    note.className = "rating-thanks";
    note.setAttribute("role", "status");
    note.textContent = "Thank you for your rating!";
    button.addEventListener("click", async () => {
      if (!text.value.trim()) return;
      button.disabled = true;
      try {
        // The comment belongs to the rating: it waits until the rating is stored.
        await delivered(rated.id);
        const response = await post("/survey-comment", { token: state.token, comment: text.value });
        if (!response.ok) throw new Error(await problem(response));
        label.remove();
        button.remove();
        note.textContent = "Thank you, we have your comment.";
      } catch (error) {
        note.textContent = error.message || "Could not send the comment; please try again.";
        button.disabled = false;
      }
    });
    box.append(note, label, button);
    return box;
  };

  // --- the live stream: replays from the last event seen, reconnects by itself --------------
  let source = null;
  let last = 0;
  let retryDelay = 1000;
  let typingTimer = null;
  const onMessage = (data) => {
    if (shown.has(data.message_id)) return;
    shown.add(data.message_id);
    const mine = data.from === "visitor";
    const note = !mine && data.channel === "email" ? "Also sent to your email" : "";
    const item = bubble(data.text, mine, mine ? "You" : data.name, note);
    // Files of a reply: signed links that open in a new tab, named as the agent's files are.
    for (const file of data.files || []) {
      const link = document.createElement("a");
      link.className = "file";
      link.href = file.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = `📎 ${file.name}`;
      item.append(link);
    }
    if (data.survey) item.append(ratingButtons(data.survey));
    if (mine && pendingBubbles.has(data.client_id)) {
      pendingBubbles.get(data.client_id).remove();
      pendingBubbles.delete(data.client_id);
    }
    if (!mine) typingLine.textContent = "";
    return item;
  };
  const onTyping = (data) => {
    if (data.who !== "agent") return;
    typingLine.textContent = `${data.name} is typing…`;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => (typingLine.textContent = ""), 4000);
  };
  const connect = () => {
    if (!state.token) return;
    source = new EventSource(api(`/stream?token=${encodeURIComponent(state.token)}&after=${last}`));
    const track = (handler) => (event) => {
      last = Math.max(last, Number(event.lastEventId) || last);
      retryDelay = 1000;
      handler(JSON.parse(event.data));
    };
    source.addEventListener("message", track(onMessage));
    source.addEventListener("typing", track(onTyping));
    source.onerror = () => {
      // Whatever state the browser gave up in, come back with our own resume point.
      source.close();
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    };
  };

  // --- sending: an outbox in storage, so nothing typed is lost to a dropped connection ------
  let flushing = false;
  const flush = async () => {
    if (flushing || !state.token) return;
    flushing = true;
    try {
      while (state.pending.length) {
        const message = state.pending[0];
        let response;
        try {
          response = await post("/messages", {
            token: state.token,
            client_id: message.client_id,
            text: message.text,
            page_url: location.href,
            utm: utm(),
          });
        } catch (_) {
          setTimeout(flush, 2000); // offline: try again shortly; the server ignores repeats
          return;
        }
        if (response.status >= 500 || response.status === 429) {
          if (response.status === 429) errorLine.textContent = await problem(response);
          setTimeout(flush, response.status === 429 ? 10000 : 2000);
          return;
        }
        if (!response.ok) {
          errorLine.textContent = await problem(response);
          pendingBubbles.get(message.client_id)?.remove();
          pendingBubbles.delete(message.client_id);
        }
        state.pending.shift();
        save();
      }
    } finally {
      flushing = false;
    }
  };

  const problem = async (response) => {
    try {
      return (await response.json()).error.message;
    } catch (_) {
      return "Something went wrong; please try again.";
    }
  };

  const utm = () => {
    const query = new URLSearchParams(location.search);
    return {
      source: query.get("utm_source"),
      medium: query.get("utm_medium"),
      campaign: query.get("utm_campaign"),
    };
  };

  const start = async () => {
    const chosen = form.querySelector("input[name=stage]:checked");
    const response = await post(`/sites/${encodeURIComponent(site)}/conversations`, {
      name: form.elements.name.value,
      email: form.elements.email.value,
      stage: chosen ? chosen.value : null,
      user_id: userId || null,
      user_hash: userHash || null,
      page_url: location.href,
    });
    if (!response.ok) throw new Error(await problem(response));
    state.token = (await response.json()).token;
    save();
    $(".prechat").hidden = true;
    connect();
  };

  // Into the outbox, shown at once as pending, sent when the connection allows.
  const sendText = (text) => {
    const message = { client_id: newId(), text };
    state.pending.push(message);
    save();
    showPending(message);
    flush();
    return message.client_id;
  };

  // Resolves once a message left the outbox (stored by the server), or after ``limit`` ms.
  const delivered = async (clientId, limit = 15000) => {
    for (let waited = 0; waited < limit; waited += 200) {
      if (!state.pending.some((message) => message.client_id === clientId)) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = form.elements.text.value.trim();
    if (!text) return;
    errorLine.textContent = "";
    if (!state.token) {
      try {
        await start();
      } catch (error) {
        errorLine.textContent = error.message || "Could not start the chat; please try again.";
        return;
      }
    }
    sendText(text);
    form.elements.text.value = "";
  });

  form.elements.text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  let typingSent = 0;
  form.elements.text.addEventListener("input", () => {
    if (!state.token || Date.now() - typingSent < 2500) return;
    typingSent = Date.now();
    post("/typing", { token: state.token }).catch(() => {});
  });

  // Another tab started the conversation or sent something: follow along.
  window.addEventListener("storage", (event) => {
    if (event.key !== storeKey) return;
    const hadToken = state.token;
    state = load();
    state.pending = state.pending || [];
    if (!hadToken && state.token) {
      $(".prechat").hidden = true;
      connect();
    }
  });

  // --- start up: only on pages of a registered origin -----------------------------------------
  fetch(api(`/sites/${encodeURIComponent(site)}`), { mode: "cors", credentials: "omit" })
    .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
    .then((settings) => {
      $("#title").textContent = settings.name;
      $(".status").textContent = settings.online
        ? "We're online and usually answer within minutes."
        : "Nobody is online right now. Leave a message and your email; we'll reply by email.";
      if (!settings.online) {
        $(".email-label").textContent = "Email (we'll reply there)";
        form.elements.email.required = true;
      }
      const choices = $(".choices");
      settings.choices.forEach((choice) => {
        const label = document.createElement("label");
        const radio = document.createElement("input");
        radio.type = "radio";
        radio.name = "stage";
        radio.value = choice.stage;
        label.append(radio, document.createTextNode(choice.label));
        choices.append(label);
      });
      if (state.token) $(".prechat").hidden = true;
      document.body.append(host);
      state.pending.forEach(showPending);
      connect();
      flush();
    })
    .catch((status) => console.warn("helpdesk chat unavailable here:", status));
})();
