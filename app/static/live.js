// Live updates over Server-Sent Events: new messages, read receipts, unread badges,
// and alerts. The browser's EventSource reconnects by itself and sends
// Last-Event-ID, so nothing is missed across a dropped connection.
(function () {
  "use strict";
  var root = document.querySelector("[data-live]");
  if (!root || !window.EventSource) { return; }
  var chat = document.getElementById("chat");
  var conversationId = chat ? parseInt(chat.dataset.conversation, 10) : null;
  var me = chat ? parseInt(chat.dataset.me, 10) : null;
  var positions = chat && chat.dataset.positions ? JSON.parse(chat.dataset.positions) : {};
  var toasts = document.getElementById("toasts");
  var readTimer = null;

  function csrf() {
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function toast(text, urgent) {
    if (!toasts) { return; }
    var item = document.createElement("p");
    item.className = "toast" + (urgent ? " toast-urgent" : "");
    item.textContent = text;
    toasts.appendChild(item);
    setTimeout(function () { item.remove(); }, urgent ? 15000 : 5000);
  }

  function receiptText(read, total) {
    if (total && read >= total) { return chat.dataset.textAllRead; }
    return chat.dataset.textRead.replace("999001", read).replace("999002", total - read);
  }

  function refreshReceipts() {
    chat.querySelectorAll("[data-receipt]").forEach(function (link) {
      var id = parseInt(link.dataset.receipt, 10);
      var read = 0, total = 0;
      Object.keys(positions).forEach(function (pid) {
        if (parseInt(pid, 10) === me) { return; }
        total += 1;
        if (positions[pid] >= id) { read += 1; }
      });
      link.textContent = receiptText(read, total);
      link.classList.toggle("all-read", total > 0 && read >= total);
    });
  }

  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      var body = new FormData();
      body.append("csrf_token", csrf());
      fetch(chat.dataset.readUrl, {method: "POST", body: body, credentials: "same-origin"});
    }, 300);
  }

  function messageElement(m) {
    var li = document.createElement("li");
    li.className = "message" + (m.sender === me ? " mine" : "");
    li.id = "m" + m.id;
    li.dataset.id = m.id;
    var head = document.createElement("div");
    head.className = "message-head";
    var sender = document.createElement("span");
    sender.className = "sender";
    sender.textContent = m.sender_name;
    var time = document.createElement("time");
    time.className = "muted";
    time.textContent = " " + m.created_at.substr(11, 5);
    head.appendChild(sender);
    head.appendChild(time);
    li.appendChild(head);
    if (m.quote) {
      var quote = document.createElement("blockquote");
      quote.className = "quote";
      quote.textContent = m.quote;
      li.appendChild(quote);
    }
    var body = document.createElement("div");
    body.className = "message-body";
    body.innerHTML = m.html;  // rendered by the server: escaped text plus links and mentions only
    li.appendChild(body);
    var foot = document.createElement("div");
    foot.className = "message-foot";
    if (m.sender === me) {
      var receipt = document.createElement("a");
      receipt.className = "receipt";
      receipt.dataset.receipt = m.id;
      receipt.href = chat.dataset.receiptsUrl.replace(/\/0\/receipts$/, "/" + m.id + "/receipts");
      foot.appendChild(receipt);
    }
    var reply = document.createElement("button");
    reply.type = "button";
    reply.className = "link-button reply";
    reply.dataset.reply = m.id;
    reply.textContent = chat.dataset.textQuote;
    foot.appendChild(reply);
    if (chat.dataset.taskUrl && m.kind === "text") {
      var task = document.createElement("a");
      task.className = "make-task";
      task.href = chat.dataset.taskUrl + "?message=" + m.id;
      task.textContent = chat.dataset.textMakeTask;
      foot.appendChild(task);
    }
    li.appendChild(foot);
    return li;
  }

  function onMessage(m) {
    if (chat && m.conversation === conversationId) {
      if (!document.getElementById("m" + m.id)) {
        var list = document.getElementById("messages");
        list.appendChild(messageElement(m));
        list.lastChild.scrollIntoView({block: "end"});
      }
      if (m.sender === me) { positions[me] = Math.max(positions[me] || 0, m.id); } else { markRead(); }
      refreshReceipts();
      return;
    }
    if (m.sender === me) { return; }
    var badge = document.querySelector("[data-conversation='" + m.conversation + "'] .unread");
    if (badge) {
      badge.textContent = (parseInt(badge.textContent, 10) || 0) + 1;
      badge.classList.remove("hidden");
      var item = badge.closest("li");
      item.parentNode.insertBefore(item, item.parentNode.firstChild);
    }
    if (!quiet()) { toast(m.sender_name + ": " + m.text.substr(0, 80)); }
  }

  function onUpdated(m) {
    var item = document.getElementById("m" + m.id);
    if (!item) { return; }
    var body = item.querySelector(".message-body");
    if (m.recalled) {
      body.textContent = chat.dataset.textRecalled;
      body.classList.add("muted");
      item.querySelectorAll("form, .reply, .attachment, .make-task").forEach(function (e) { e.remove(); });
    } else {
      body.innerHTML = m.html;
    }
  }

  // The notification centre: the badge in the top bar and, on /notifications, the list itself.
  function setUnread(count) {
    document.querySelectorAll("[data-notifications-unread]").forEach(function (badge) {
      badge.textContent = count;
      badge.classList.toggle("hidden", !count);
    });
    document.querySelectorAll("[data-notifications-count]").forEach(function (e) { e.textContent = count; });
    document.querySelectorAll("[data-read-all]").forEach(function (e) { e.classList.toggle("hidden", !count); });
  }

  function onNotification(n) {
    setUnread(n.unread);
    var list = document.getElementById("notifications");
    if (list && !list.querySelector("[data-notification='" + n.id + "']")) {
      var empty = list.querySelector("[data-empty]");
      if (empty) { empty.remove(); }
      var item = document.createElement("li");
      item.className = "notification notification-unread";
      item.dataset.notification = n.id;
      var link = document.createElement("a");
      link.className = "notification-title";
      link.href = n.url;
      link.textContent = n.title;   // user text only ever as textContent
      item.appendChild(link);
      if (n.text) {
        var text = document.createElement("p");
        text.className = "notification-text";
        text.textContent = n.text;
        item.appendChild(text);
      }
      list.insertBefore(item, list.firstChild);
    }
    // DINGs, announcements and tasks have their own alerts (ding.js, tasks.js); the rest are ordinary news.
    var alerted = ["ding", "announcement", "important_announcement", "task_assigned", "task_reminder"];
    if (alerted.indexOf(n.kind) < 0 && (n.urgent || !quiet())) {
      toast(n.title, n.urgent);
    }
  }

  function onNotificationsRead(r) {
    setUnread(r.unread);
    document.querySelectorAll("#notifications [data-notification]").forEach(function (item) {
      if (r.ids === null || r.ids.indexOf(parseInt(item.dataset.notification, 10)) >= 0) {
        item.classList.remove("notification-unread");
        var form = item.querySelector("form");
        if (form) { form.remove(); }
      }
    });
  }

  // Off-work mode: ordinary messages do not alert outside working hours or during do-not-disturb.
  function quiet() {
    var d = document.body.dataset;
    if (d.dndUntil && Date.parse(d.dndUntil) > Date.now()) { return true; }
    if (!d.workStart || !d.workEnd) { return false; }
    var parts = new Intl.DateTimeFormat("en-GB", {timeZone: d.timezone, hour: "2-digit", minute: "2-digit",
                                                  weekday: "short", hour12: false}).formatToParts(new Date());
    var get = function (type) { return (parts.find(function (p) { return p.type === type; }) || {}).value; };
    var days = {Mon: "1", Tue: "2", Wed: "3", Thu: "4", Fri: "5", Sat: "6", Sun: "7"};
    if (d.workDays && d.workDays.indexOf(days[get("weekday")]) < 0) { return true; }
    var now = get("hour") + ":" + get("minute");
    if (d.workStart <= d.workEnd) { return !(d.workStart <= now && now < d.workEnd); }
    return d.workEnd <= now && now < d.workStart;
  }

  var handlers = {
    message: onMessage,
    message_updated: onUpdated,
    read: function (r) {
      if (chat && r.conversation === conversationId) {
        positions[r.person] = Math.max(positions[r.person] || 0, r.last_read_id);
        refreshReceipts();
      } else if (r.person === parseInt(document.body.dataset.person, 10)) {
        var badge = document.querySelector("[data-conversation='" + r.conversation + "'] .unread");
        if (badge) { badge.textContent = "0"; badge.classList.add("hidden"); }
      }
    },
    notification: onNotification,
    notifications_read: onNotificationsRead,
    session_revoked: function () { window.location.reload(); },
    resync: function () { window.location.reload(); }
  };
  // A page's [data-refresh] regions re-rendered from a fresh copy of the page: the server renders, nothing
  // in the copy runs (DOMParser), and a burst of events makes one request.
  var refreshTimer = null;
  function refreshRegions(after) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      fetch(window.location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}})
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html");
          document.querySelectorAll("[data-refresh][id]").forEach(function (region) {
            var replacement = fresh.getElementById(region.id);
            if (replacement) { region.replaceWith(document.importNode(replacement, true)); }
          });
          if (after) { after(); }
        })
        .catch(function () { return null; });  // offline for now: the next event tries again
    }, 150);
  }
  window.atriumLive = {handlers: handlers, toast: toast, quiet: quiet, csrf: csrf, refreshRegions: refreshRegions};

  var source = new EventSource("/events?after=" + encodeURIComponent(root.dataset.lastEventId || "0"));
  // A feature's own script listens for its kinds of event: live.listen(kind, handler), or live.listen(kind)
  // after setting live.handlers[kind] (the handler may be replaced later).
  window.atriumLive.listen = function (kind, handler) {
    if (handler) { handlers[kind] = handler; }
    source.addEventListener(kind, function (event) {
      var current = window.atriumLive.handlers[kind];
      if (current) { current(JSON.parse(event.data)); }
    });
  };
  Object.keys(handlers).forEach(function (kind) {
    source.addEventListener(kind, function (event) {
      var handler = window.atriumLive.handlers[kind];
      if (handler) { handler(JSON.parse(event.data)); }
    });
  });
  ["ding", "ding_updated", "announcement", "approval_updated", "approval_todo", "approval_outcome",
   "attendance_updated"].forEach(function (kind) {
    source.addEventListener(kind, function (event) {
      var handler = window.atriumLive.handlers[kind];
      if (handler) { handler(JSON.parse(event.data)); }
    });
  });

  if (chat) {
    refreshReceipts();
    var last = document.querySelector("#messages li:last-child");
    if (last) { last.scrollIntoView({block: "end"}); }
    var form = document.getElementById("composer");
    var text = document.getElementById("text");
    chat.addEventListener("click", function (event) {
      var editing = event.target.closest("[data-edit]");
      if (editing) {
        var current = editing.closest(".message").querySelector(".message-body").textContent;
        var changed = window.prompt(chat.dataset.textEditPrompt, current);
        if (changed === null || changed === current) { return; }
        var data = new FormData();
        data.append("csrf_token", csrf());
        data.append("text", changed);
        fetch(editing.dataset.edit, {method: "POST", body: data, credentials: "same-origin",
                                     headers: {"Accept": "application/json"}})
          .then(function (response) { return response.json().then(function (d) { return {ok: response.ok, data: d}; }); })
          .then(function (result) { if (result.ok) { onUpdated(result.data); } else { toast(result.data.error || "", true); } });
        return;
      }
      var button = event.target.closest("[data-reply]");
      if (!button) { return; }
      document.getElementById("reply_to").value = button.dataset.reply;
      var preview = document.getElementById("quote-preview");
      var quoted = document.querySelector("#m" + button.dataset.reply + " .message-body");
      preview.textContent = quoted ? quoted.textContent.substr(0, 120) : "";
      preview.classList.remove("hidden");
      text.focus();
    });
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;  // a second click does not send twice
      fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                          headers: {"Accept": "application/json"}})
        .then(function (response) {
          return response.json().then(function (data) { return {ok: response.ok, data: data}; });
        })
        .then(function (result) {
          if (!result.ok) { toast(result.data.error || "", true); return; }
          form.reset();
          document.getElementById("reply_to").value = "";
          document.getElementById("quote-preview").classList.add("hidden");
          onMessage(result.data);
        })
        .catch(function () { toast(chat.dataset.textOffline || "", true); })
        .finally(function () { button.disabled = false; text.focus(); });
    });
  }
}());
