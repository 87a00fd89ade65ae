// Small progressive touches; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // Filters apply as soon as a choice changes; typing a search still waits for Enter.
  document.querySelectorAll("form[data-autosubmit]").forEach((form) => {
    form.querySelectorAll("select, input[type=date]").forEach((input) => {
      input.addEventListener("change", () => form.requestSubmit());
    });
    // Leave unused filters out of the URL, so bookmarks and shared links stay readable.
    form.addEventListener("submit", () => {
      form.querySelectorAll("input, select").forEach((input) => {
        if (!input.value) input.disabled = true;
      });
    });
  });
  // Ask before actions that cannot be undone.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // Ctrl+Enter (Cmd+Enter) in the composer sends the reply.
  document.querySelectorAll("textarea[data-submit-shortcut]").forEach((area) => {
    area.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        area.form.querySelector("[name=reply]").click();
      }
    });
  });
  document.querySelectorAll("[data-sms-counter]").forEach(countSms);
  // An email as sent takes the height of its content, up to most of the window.
  document.querySelectorAll("iframe[data-fit-content]").forEach((frame) => {
    frame.addEventListener("load", () => {
      const body = frame.contentDocument?.body;
      if (body) frame.style.height = `${Math.min(body.scrollHeight + 24, innerHeight * 0.8)}px`;
    });
  });
  if (document.querySelector("[data-shortcut]")) listenForShortcuts();
  document.querySelectorAll(".thread[data-live-url]").forEach(followTicket);
  document.querySelectorAll(".thread[data-chat]").forEach(sendChatReplies);
  document.querySelectorAll("#queue-results[data-live-url]").forEach(followQueue);
  document.querySelectorAll("form[data-bulk]").forEach(selectForBulk);
  document.querySelectorAll("[data-view-counts]").forEach(refreshViewCounts);
  document.querySelectorAll("form[data-macro-picker]").forEach(macroPicker);
  document.querySelectorAll("[data-notify]").forEach(notifyToggle);
});

// One key (outside a text field) for each common action: the element marked data-shortcut is
// clicked, or focused when it takes input; "?" lists what the page offers.
function listenForShortcuts() {
  const typing = (el) => el.closest("input, textarea, select, [contenteditable]");
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "?") {
      event.preventDefault();
      shortcutList().showModal();
      return;
    }
    const target = document.querySelector(`[data-shortcut="${CSS.escape(event.key)}"]`);
    if (!target) return;
    event.preventDefault();
    if (typing(target)) target.focus();
    else target.click();
  });
}

function shortcutList() {
  let dialog = document.getElementById("shortcuts");
  if (dialog) return dialog;
  dialog = document.createElement("dialog");
  dialog.id = "shortcuts";
  dialog.setAttribute("aria-labelledby", "shortcuts-title");
  const rows = [...document.querySelectorAll("[data-shortcut]")].map((el) => [
    el.dataset.shortcut,
    el.dataset.shortcutLabel || el.textContent.trim(),
  ]);
  if (document.querySelector("textarea[data-submit-shortcut]")) {
    rows.push(["Ctrl+Enter", "Send the reply (in the message box)"]);
  }
  rows.push(["?", "Show this list"]);
  const list = document.createElement("dl");
  for (const [key, label] of rows) {
    const term = document.createElement("dt");
    term.append(Object.assign(document.createElement("kbd"), { textContent: key }));
    list.append(term, Object.assign(document.createElement("dd"), { textContent: label }));
  }
  const title = Object.assign(document.createElement("h2"), {
    id: "shortcuts-title",
    textContent: "Keyboard shortcuts",
  });
  const close = Object.assign(document.createElement("button"), {
    className: "button",
    textContent: "Close",
  });
  close.addEventListener("click", () => dialog.close());
  dialog.append(title, list, close);
  document.body.append(dialog);
  return dialog;
}

// GSM 03.38: a text written only in these characters fits 160 to a message (153 in each part of
// a longer one, which carries a joining header; the extension characters take two places). Any
// other character sends the whole text as UCS-2: 70 to a message, 67 in each part.
const GSM_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà",
);
const GSM_EXTENDED = new Set("^{}\\[~]|€\f");

function smsParts(text) {
  const chars = [...text];
  if (chars.every((c) => GSM_BASIC.has(c) || GSM_EXTENDED.has(c))) {
    const septets = chars.reduce((n, c) => n + (GSM_EXTENDED.has(c) ? 2 : 1), 0);
    return septets <= 160 ? 1 : Math.ceil(septets / 153);
  }
  return text.length <= 70 ? 1 : Math.ceil(text.length / 67);
}

// Under an SMS reply: its length against the limit and how many text messages it becomes.
function countSms(counter) {
  const area = document.getElementById(counter.dataset.smsCounter);
  const limit = Number(counter.dataset.limit);
  const show = () => {
    const text = area.value.trim();
    const length = [...text].length;
    const parts = text ? smsParts(text) : 0;
    counter.textContent = `${length.toLocaleString("en")} / ${limit.toLocaleString("en")} characters · ${parts} text message${parts === 1 ? "" : "s"}`;
    counter.classList.toggle("over", length > limit);
  };
  area.addEventListener("input", show);
  show();
}

// A server-sent event stream that resumes after the last event it saw, whatever dropped it
// (with none yet, the server decides where it starts). Returns a function that ends it.
function liveStream(url, after, onEvent) {
  let last = Number(after) || 0;
  let source = null;
  let stopped = false;
  const connect = () => {
    if (stopped) return;
    source = new EventSource(last ? `${url}?after=${last}` : url);
    source.onmessage = source.onerror = null;
    ["message", "typing", "ticket", "presence", "assigned"].forEach((kind) => {
      source.addEventListener(kind, (event) => {
        const id = Number(event.lastEventId) || last;
        last = Math.max(last, id);
        onEvent(JSON.parse(event.data), id);
      });
    });
    source.onerror = () => {
      // Reconnect ourselves, with our own resume point, whatever state the browser gave up in.
      source.close();
      setTimeout(connect, 1000);
    };
  };
  connect();
  return () => {
    stopped = true;
    source.close();
  };
}

const NOTIFY_KEY = "helpdesk.notify";
const NOTIFIED_KEY = "helpdesk.notified";

// "Notify me" in the navigation, off until the agent turns it on (in this browser): then a
// ticket given to them by someone else or by the system, and a new chat for their teams, show
// as a browser notification with a quiet blip. Nothing from before is told, and a reload or a
// reconnect never tells of anything twice.
function notifyToggle(button) {
  if (!("Notification" in window)) return;
  button.hidden = false;
  const sound = Object.assign(new Audio(button.dataset.sound), { volume: 0.35, preload: "auto" });
  let stop = null;
  // From when the page was made, or, turned on just now, from now.
  const turn = (on, after = button.dataset.liveAfter) => {
    button.setAttribute("aria-pressed", String(on));
    button.classList.toggle("pill-on", on);
    button.classList.toggle("pill-off", !on);
    // A toggle keeps its name; pressed or not is its state (aria-pressed), shown by its look.
    button.textContent = on ? "● Notify me" : "○ Notify me";
    button.title = on
      ? "You are told of tickets given to you and new chats for your teams; click to stop"
      : "Be told of tickets given to you and new chats for your teams";
    if (on && !stop) {
      stop = liveStream(button.dataset.liveUrl, after, (data, id) =>
        tell(data, id, button.dataset.ticketsUrl, sound),
      );
    } else if (!on && stop) {
      stop();
      stop = null;
    }
  };
  const wanted = () =>
    localStorage.getItem(NOTIFY_KEY) === "on" && Notification.permission === "granted";
  turn(wanted());
  button.addEventListener("click", async () => {
    if (stop) {
      localStorage.setItem(NOTIFY_KEY, "off");
      turn(false);
      return;
    }
    if ((await Notification.requestPermission()) !== "granted") {
      button.title = "Notifications are blocked for this site in the browser's settings";
      return;
    }
    localStorage.setItem(NOTIFY_KEY, "on");
    turn(true, null);
  });
  // Turned on or off in another tab.
  window.addEventListener("storage", (event) => {
    if (event.key === NOTIFY_KEY) turn(wanted());
  });
}

// One notification for one event, however many tabs are open: the first tab to claim it tells.
function tell(data, id, ticketsUrl, sound) {
  const claim = JSON.parse(localStorage.getItem(NOTIFIED_KEY) || "{}");
  if (claim.id >= id && Date.now() - claim.at < 60000) return;
  localStorage.setItem(NOTIFIED_KEY, JSON.stringify({ id, at: Date.now() }));
  const url = `${ticketsUrl}/${data.ticket_id}`;
  // The agent is looking at that very ticket.
  if (location.pathname === url && document.visibilityState === "visible") return;
  const title =
    data.type === "assigned"
      ? `#${data.number} assigned to you${data.by ? ` by ${data.by}` : ""}`
      : `New chat #${data.number}`;
  // The same tag replaces a ticket's earlier notification (assigned as its chat arrives).
  const note = new Notification(title, { body: data.subject, tag: `ticket-${data.ticket_id}` });
  note.onclick = () => {
    window.focus();
    location.assign(url);
    note.close();
  };
  sound.currentTime = 0;
  // Browsers may refuse sound before the page was clicked: the notification still shows.
  sound.play().catch(() => {});
}

// Every ticket page: new messages, the customer's typing and the other agents on the ticket
// (who views it, who writes a reply) appear without a reload.
function followTicket(thread) {
  const composer = thread.querySelector("#composer");
  const area = composer.querySelector("textarea");
  const typing = thread.querySelector("[data-typing]");
  const notice = thread.querySelector("[data-live-notice]");
  const viewers = followViewers(thread, typing);
  let typingTimer = null;
  liveStream(thread.dataset.liveUrl, thread.dataset.liveAfter, (data) => {
    if (data.type === "message") {
      if (document.getElementById(`message-${data.message_id}`)) return;
      // Above the "is typing" line, so the thread reads on without a gap.
      typing.before(ticketMessage(data, thread.dataset.timezone));
      typing.textContent = "";
      // Shown before the agent started writing is seen; what arrives while they write is
      // not, so the server asks them to confirm a reply composed before it (409).
      const byOther = String(data.author_id) !== thread.dataset.me;
      if (area.value.trim() && byOther) {
        notice.textContent = `New message from ${data.name} while you were writing: read it before you send.`;
        notice.hidden = false;
      } else {
        markSeen(composer, data.message_id);
      }
    } else if (data.type === "typing" && data.who === "visitor") {
      typing.textContent = `${data.name} is typing…`;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => (typing.textContent = ""), 4000);
    } else if (data.type === "presence") {
      viewers.beat(data);
    }
  });
  const csrf = composer.querySelector("[name=csrf_token]")?.value;
  const post = (url, state) =>
    fetch(url, {
      method: "POST",
      body: new URLSearchParams(state ? { state } : {}),
      headers: csrf ? { "X-CSRFToken": csrf } : {},
      credentials: "same-origin",
    }).catch(() => {});
  // Presence: a beat on opening and every 25 s (it expires after 60 s), a last one on leaving.
  post(thread.dataset.presenceUrl, "viewing");
  setInterval(() => post(thread.dataset.presenceUrl, "viewing"), 25000);
  // Back to the page from the browser's history cache: here again.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) post(thread.dataset.presenceUrl, "viewing");
  });
  window.addEventListener("pagehide", () => {
    const body = new FormData();
    body.append("state", "left");
    if (csrf) body.append("csrf_token", csrf);
    navigator.sendBeacon(thread.dataset.presenceUrl, body);
  });
  let lastSent = 0;
  area.addEventListener("input", () => {
    if (Date.now() - lastSent < 2500) return;
    lastSent = Date.now();
    post(thread.dataset.typingUrl);
  });
}

// The other agents on the ticket: initials and name while their page beats, a "writing" line
// while they type; each one goes after a minute without a beat, or when their page closes.
function followViewers(thread, typing) {
  const box = thread.querySelector("[data-viewers]");
  const list = box.querySelector("ul");
  const expires = Number(box.dataset.expires) * 1000;
  const timers = new Map();
  let writingTimer = null;
  const drop = (id) => {
    list.querySelector(`[data-user-id="${id}"]`)?.remove();
    box.hidden = !list.children.length;
  };
  const keep = (id) => {
    clearTimeout(timers.get(id));
    timers.set(id, setTimeout(() => drop(id), expires));
  };
  list.querySelectorAll("[data-user-id]").forEach((item) => keep(item.dataset.userId));
  return {
    beat(data) {
      const id = String(data.user_id);
      if (id === thread.dataset.me) return;
      if (data.state === "left") {
        clearTimeout(timers.get(id));
        drop(id);
        return;
      }
      if (!list.querySelector(`[data-user-id="${id}"]`)) {
        const item = document.createElement("li");
        item.dataset.userId = id;
        const avatar = document.createElement("span");
        avatar.className = "avatar";
        avatar.setAttribute("aria-hidden", "true");
        const words = data.name.split(/\s+/).filter(Boolean);
        avatar.textContent = words.slice(0, 2).map((w) => w[0].toUpperCase()).join("") || "?";
        item.append(avatar, ` ${data.name}`);
        list.append(item);
        box.hidden = false;
      }
      keep(id);
      if (data.state === "writing") {
        typing.textContent = `${data.name} is writing a reply…`;
        clearTimeout(writingTimer);
        writingTimer = setTimeout(() => (typing.textContent = ""), 6000);
      }
    },
  };
}

// The composer's seen_message_id: the newest message the agent has read.
function markSeen(composer, id) {
  const seen = composer.querySelector("[name=seen_message_id]");
  seen.value = Math.max(Number(seen.value) || 0, Number(id) || 0);
}

// Chat tickets: a reply goes without reloading the page; the live stream shows it like any
// message.
function sendChatReplies(thread) {
  const composer = thread.querySelector("#composer");
  const area = composer.querySelector("textarea");
  const liveNotice = thread.querySelector("[data-live-notice]");
  composer.addEventListener("submit", async (event) => {
    if (event.submitter?.name !== "reply") return;
    event.preventDefault();
    const body = new FormData(composer);
    body.append("reply", "1");
    const answer = await fetch(composer.action, {
      method: "POST",
      body,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).catch(() => null);
    composer.querySelector(".notice")?.remove();
    if (answer?.ok) {
      area.value = "";
      liveNotice.hidden = true;
      followProperties(await answer.json());
    } else if (answer?.status === 409) {
      // New messages came while the agent typed: the stream shows them; the text stays, and
      // pressing Send again sends it as it is.
      markSeen(composer, (await answer.json()).seen_message_id);
      liveNotice.hidden = true;
      const notice = document.createElement("p");
      notice.className = "notice";
      notice.setAttribute("role", "alert");
      notice.textContent =
        "Not sent yet: new messages arrived while you were writing. Read them, then press Send reply again to send your text as it is.";
      area.before(notice);
    } else if (answer) {
      // Refused (empty, too long, no way to reach the customer): the page says why.
      composer.submit();
    }
    // No answer at all: the text stays, and the stream shows the reply if it went through.
  });
}

// The sidebar follows what a reply sent without reload did (a new ticket became open), unless
// the agent has already picked another value there themselves.
function followProperties(answer) {
  const form = document.querySelector("form.properties");
  if (!form || !answer.properties) return;
  Object.entries(answer.properties).forEach(([name, value]) => {
    const field = form.elements[name];
    const original = form.elements[`original_${name}`];
    if (field.value === original.value) field.value = value;
    original.value = value;
  });
  form.elements.version.value = answer.version;
}

const CHANNEL_LABELS = { email: "Email", sms: "SMS", chat: "Chat" };

// Built with textContent only: message text is never parsed as HTML.
function ticketMessage(data, timeZone) {
  const direction = data.direction;
  const article = document.createElement("article");
  article.className = `msg msg-${direction} msg-live${data.outsider ? " msg-outsider" : ""}`;
  article.id = `message-${data.message_id}`;
  const header = document.createElement("header");
  const who = document.createElement("span");
  who.className = "msg-who";
  who.textContent = data.name;
  const kind = document.createElement("span");
  kind.className = "msg-kind";
  const channel = CHANNEL_LABELS[data.channel] || data.channel;
  kind.textContent = {
    inbound: data.outsider ? `${channel} from someone not on this ticket` : `${channel} from customer`,
    outbound: `Reply by ${channel}`,
    note: "Internal note",
  }[direction];
  const time = document.createElement("time");
  time.dateTime = data.at;
  // As the server writes times: "25 Nov 2026, 16:13" in the helpdesk's time zone.
  time.textContent = new Date(data.at).toLocaleString("en-GB", {
    day: "2-digit",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone,
  });
  header.append(who, kind, time);
  const text = document.createElement("div");
  text.className = "msg-text";
  text.textContent = data.text;
  article.append(header, text);
  if (direction === "outbound" && data.delivery) {
    const footer = document.createElement("footer");
    const delivery = document.createElement("span");
    delivery.className = `delivery delivery-${data.delivery}`;
    delivery.textContent = data.delivery[0].toUpperCase() + data.delivery.slice(1);
    footer.append(delivery);
    article.append(footer);
  }
  return article;
}

// The queue: a new chat reloads the list in place (same filters, ticked rows kept ticked), and
// is announced.
function followQueue(results) {
  if ("livePaused" in results.dataset) return;
  const news = document.querySelector("[data-queue-news]");
  liveStream(results.dataset.liveUrl, results.dataset.liveAfter, async (data) => {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresher = page.getElementById("queue-results");
    const tabs = page.querySelector("nav.tabs");
    const ticked = new Set([...results.querySelectorAll("input[name=ids]:checked")].map((box) => box.value));
    if (fresher) results.innerHTML = fresher.innerHTML;
    if (tabs) document.querySelector("nav.tabs").innerHTML = tabs.innerHTML;
    results.querySelectorAll("input[name=ids]").forEach((box) => {
      box.checked = ticked.has(box.value);
    });
    results.dispatchEvent(new Event("change", { bubbles: true }));
    news.textContent = `New chat: #${data.number} ${data.subject}`;
  });
}

// The bulk bar: tick rows (shift-click ticks the range since the last one), or all on the page
// from the header box; the bar says how many are ticked and hides while none is (or all
// matching the filter is chosen).
function selectForBulk(form) {
  const results = document.getElementById("queue-results");
  const said = form.querySelector("[data-bulk-selected]");
  const allMatching = form.querySelector("input[name='bulk-all_matching']");
  const boxes = () => [...results.querySelectorAll("input[name=ids]")];
  let last = null;
  const show = () => {
    const ticked = boxes().filter((box) => box.checked).length;
    const header = results.querySelector("[data-select-page]");
    if (header) {
      header.checked = ticked > 0 && ticked === boxes().length;
      header.indeterminate = ticked > 0 && ticked < boxes().length;
    }
    said.textContent = allMatching?.checked
      ? "All tickets matching this filter are chosen"
      : ticked
        ? `${ticked} ticket${ticked === 1 ? "" : "s"} ticked`
        : "Tick tickets below to change them together";
    form.classList.toggle("idle", !ticked && !allMatching?.checked);
  };
  results.addEventListener("click", (event) => {
    const box = event.target.closest("input[name=ids]");
    if (!box) return;
    const all = boxes();
    if (event.shiftKey && last && all.includes(last)) {
      const [from, to] = [all.indexOf(last), all.indexOf(box)].sort((a, b) => a - b);
      all.slice(from, to + 1).forEach((each) => {
        each.checked = box.checked;
      });
    }
    last = box;
  });
  results.addEventListener("change", (event) => {
    if (event.target.matches("[data-select-page]")) {
      boxes().forEach((box) => {
        box.checked = event.target.checked;
      });
    }
    show();
  });
  allMatching?.addEventListener("change", show);
  show();
}

// The saved views' counts in the navigation follow the tickets: asked again every half minute
// while the page is in view.
function refreshViewCounts(nav) {
  const refresh = async () => {
    if (document.hidden) return;
    const response = await fetch(nav.dataset.viewCounts, { credentials: "same-origin" });
    if (!response.ok) return;
    const counts = await response.json();
    nav.querySelectorAll("[data-view-count]").forEach((count) => {
      const shown = counts[count.dataset.viewCount];
      if (shown !== undefined) count.textContent = shown;
    });
  };
  setInterval(refresh, 30_000);
  document.addEventListener("visibilitychange", refresh);
}

// The macro picker: "." (or the Macros… button) opens a dialog; typed words filter the macros by
// name and text, the arrow keys move, Enter applies. The plain select and button stay as they
// are without JavaScript.
function macroPicker(form) {
  const select = form.querySelector("select[name=macro]");
  const opener = form.querySelector("[data-macro-open]");
  if (!select || !opener) return;
  const dialog = Object.assign(document.createElement("dialog"), { className: "macro-dialog" });
  dialog.setAttribute("aria-labelledby", "macro-dialog-title");
  const title = Object.assign(document.createElement("h2"), {
    id: "macro-dialog-title",
    textContent: "Apply a macro",
  });
  const search = Object.assign(document.createElement("input"), {
    type: "search",
    placeholder: "Type to filter, ↑↓ to choose, Enter to apply",
    autocomplete: "off",
  });
  search.setAttribute("role", "combobox");
  search.setAttribute("aria-label", "Search macros");
  search.setAttribute("aria-controls", "macro-options");
  search.setAttribute("aria-expanded", "true");
  search.setAttribute("aria-autocomplete", "list");
  const list = Object.assign(document.createElement("ul"), { id: "macro-options" });
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Macros");
  const none = Object.assign(document.createElement("p"), {
    className: "muted",
    textContent: "No macro matches.",
    hidden: true,
  });
  const entries = [...select.options].map((option) => {
    const item = Object.assign(document.createElement("li"), { id: `macro-option-${option.value}` });
    item.setAttribute("role", "option");
    const uses = Number(option.dataset.uses || 0);
    item.append(
      Object.assign(document.createElement("b"), { textContent: option.text }),
      Object.assign(document.createElement("small"), {
        textContent: ` ${option.dataset.shared ? "shared · " : ""}used ${uses} time${uses === 1 ? "" : "s"}`,
      }),
      Object.assign(document.createElement("span"), { textContent: option.dataset.text || "" }),
    );
    // mousedown, not click: the search box keeps the focus until the form goes.
    item.addEventListener("mousedown", (event) => {
      event.preventDefault();
      choose(option.value);
    });
    list.append(item);
    return { item, value: option.value, words: `${option.text} ${option.dataset.text || ""}`.toLowerCase() };
  });
  let shown = entries;
  let active = 0;
  const mark = (index) => {
    active = Math.max(0, Math.min(index, shown.length - 1));
    entries.forEach((entry) => entry.item.setAttribute("aria-selected", "false"));
    const current = shown[active];
    if (current) {
      current.item.setAttribute("aria-selected", "true");
      current.item.scrollIntoView({ block: "nearest" });
      search.setAttribute("aria-activedescendant", current.item.id);
    } else {
      search.removeAttribute("aria-activedescendant");
    }
  };
  const filter = () => {
    const wanted = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    shown = entries.filter((entry) => wanted.every((word) => entry.words.includes(word)));
    entries.forEach((entry) => {
      entry.item.hidden = !shown.includes(entry);
    });
    none.hidden = shown.length > 0;
    mark(0);
  };
  const choose = (value) => {
    select.value = value;
    dialog.close();
    form.requestSubmit(form.querySelector("[name=apply]"));
  };
  // What the agent has written so far stays in the reply box, the macro's text below it.
  form.addEventListener("submit", () => {
    const draft = document.querySelector("#composer textarea");
    form.querySelector("[name=draft]").value = draft ? draft.value : "";
  });
  search.addEventListener("input", filter);
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      mark(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (shown[active]) choose(shown[active].value);
    }
  });
  dialog.append(title, search, list, none);
  document.body.append(dialog);
  opener.hidden = false;
  opener.addEventListener("click", () => {
    search.value = "";
    filter();
    dialog.showModal();
    search.focus();
  });
}
