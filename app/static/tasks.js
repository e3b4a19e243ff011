// Tasks live on every signed-in page: a toast when someone gives you a task or chases you,
// and on the task pages the status, progress and timeline follow what others do.
// Texts come from data attributes (translated by the server); user text is only ever set as
// textContent, and entry HTML is what the server rendered (escaped text, links, line breaks).
(function () {
  "use strict";
  var live = window.atriumLive;
  var script = document.currentScript;
  if (!live || !live.listen || !script) { return; }
  var texts = script.dataset;
  var me = parseInt(document.body.dataset.person, 10);

  // A function as the replacement, so "$&" and the like in a name or title are taken literally.
  function fill(template, values) {
    return (template || "").replace(/\{(\w+)\}/g, function (whole, key) {
      return values[key] !== undefined ? String(values[key]) : whole;
    });
  }

  function statusText(status) {
    var holder = document.getElementById("task-status-texts");
    var key = "text" + status.split("_").map(function (part) {
      return part.charAt(0).toUpperCase() + part.slice(1);
    }).join("");
    return (holder && holder.dataset[key]) || status;
  }

  // In the person's own time zone, as the server renders times, not the browser's.
  function localTime(iso) {
    if (!iso) { return ""; }
    return new Date(iso).toLocaleString(document.documentElement.lang || undefined,
                                        {timeZone: document.body.dataset.timezone, dateStyle: "short", timeStyle: "short"});
  }

  function setStatus(badge, t) {
    if (!badge) { return; }
    badge.textContent = statusText(t.status);
    badge.className = "badge task-status task-status-" + t.status;
  }

  function news(text, reload) {
    var box = document.getElementById("task-news");
    if (!box) { return; }
    box.textContent = "";
    if (text) { box.appendChild(document.createTextNode(text + " ")); }
    if (reload) {
      var link = document.createElement("a");
      link.href = window.location.pathname + window.location.search;
      link.textContent = reload;
      box.appendChild(link);
    }
    box.classList.remove("hidden");
  }

  function entryElement(box, e) {
    var li = document.createElement("li");
    li.className = "task-entry";
    li.dataset.entry = e.id;
    var head = document.createElement("div");
    head.className = "message-head";
    var author = document.createElement("span");
    author.className = "sender";
    author.textContent = e.author.name;
    var time = document.createElement("time");
    time.className = "muted";
    time.textContent = " " + localTime(e.created_at);
    head.appendChild(author);
    head.appendChild(time);
    li.appendChild(head);
    if (e.status) {
      var line = document.createElement("p");
      line.className = "muted task-entry-status";
      line.textContent = fill(box.dataset.textSet, {status: statusText(e.status), percent: e.percent + "%"});
      li.appendChild(line);
    }
    if (e.text) {
      var body = document.createElement("div");
      body.className = "message-body";
      body.innerHTML = e.html;  // rendered by the server: escaped text plus links only
      li.appendChild(body);
    }
    return li;
  }

  function onTaskPage(t) {
    var box = document.getElementById("task");
    if (!box || parseInt(box.dataset.task, 10) !== t.id) { return; }
    if (t.action === "deleted" || (t.action === "unassigned" && t.by !== me)) {
      news(box.dataset.textGone, "");
      document.querySelectorAll("#progress-form, #comment-form, #task .actions").forEach(function (e) { e.remove(); });
      return;
    }
    if (t.action === "changed" || t.action === "assigned") {
      if (t.by !== me) { news(box.dataset.textChanged, box.dataset.textReload); }
      return;
    }
    setStatus(box.querySelector("[data-status]"), t);
    var bar = document.getElementById("task-progress");
    if (bar) { bar.value = t.percent; bar.textContent = t.percent + "%"; }
    var percent = document.getElementById("task-percent");
    if (percent) { percent.textContent = t.percent + "%"; }
    var form = document.getElementById("progress-form");
    if (form && !form.contains(document.activeElement)) {
      form.elements.status.value = t.status;
      form.elements.percent.value = t.percent;
    }
    if (t.status === "done" || t.status === "cancelled") {
      var remind = document.getElementById("task-remind");
      if (remind) { remind.closest("form").remove(); }
      var late = box.querySelector(".task-overdue");
      if (late) { late.remove(); }
    }
    var list = document.getElementById("task-timeline");
    if (list && t.entry && !list.querySelector("[data-entry='" + t.entry.id + "']")) {
      var empty = document.getElementById("task-timeline-empty");
      if (empty) { empty.remove(); }
      list.appendChild(entryElement(box, t.entry));
    }
  }

  function onTaskList(t) {
    var list = document.getElementById("task-list");
    if (!list) { return; }
    var row = list.querySelector("[data-task='" + t.id + "']");
    if (row && (t.action === "progress" || t.action === "changed")) {
      setStatus(row.querySelector("[data-status]"), t);
      var percent = row.querySelector("[data-percent]");
      if (percent) { percent.textContent = t.percent + "%"; }
    }
    // What a row cannot show by itself (a new task, a removed one, a new title) offers a reload instead.
    var shown = row && (t.action === "progress" || t.action === "comment" || t.action === "reminder");
    var box = document.getElementById("task-news");
    if (!shown && t.by !== me && box) { box.classList.remove("hidden"); }
  }

  function toast(t) {
    if (t.by === me || live.quiet()) { return; }
    if (t.action === "reminder") {
      live.toast(fill(texts.textReminder, {name: t.by_name, title: t.title}), true);
    } else if (t.action === "assigned") {
      live.toast(fill(texts.textAssigned, {name: t.by_name, title: t.title}), false);
    }
  }

  live.handlers.task = function (t) {
    toast(t);
    onTaskPage(t);
    onTaskList(t);
  };
  live.listen("task");
}());
