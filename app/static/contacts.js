// External contacts: a contact's new history entries appear live on its page, handovers offered to me
// appear in what waits for me, the call result shows only for calls, and deleting asks first.
// Texts come from this script tag's data attributes (translated by the server); user text is only
// ever set as textContent.
(function () {
  "use strict";
  var live = window.atriumLive;
  var script = document.currentScript;
  var texts = script ? script.dataset : {};

  // A function as the replacement, so "$&" and the like in a name are taken literally.
  function fill(template, values) {
    return (template || "").replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole;
    });
  }

  function when(iso) {
    try {
      return new Intl.DateTimeFormat(undefined, {timeZone: document.body.dataset.timezone, dateStyle: "short",
                                                 timeStyle: "short"}).format(new Date(iso));
    } catch (e) {
      return iso.substr(0, 16).replace("T", " ");
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) { event.preventDefault(); }
  });

  var form = document.getElementById("add-history");
  if (form) {
    var result = document.getElementById("call-result");
    var sync = function () {
      var chosen = form.querySelector("input[name=kind]:checked");
      result.classList.toggle("hidden", !chosen || chosen.value !== "call");
    };
    form.addEventListener("change", sync);
    sync();
  }

  function entryElement(d) {
    var li = document.createElement("li");
    li.className = "history-item history-" + d.kind;
    li.id = "i" + d.id;
    var head = document.createElement("div");
    head.className = "history-head";
    var badge = document.createElement("span");
    badge.className = "badge badge-muted";
    badge.textContent = texts["text" + d.kind.charAt(0).toUpperCase() + d.kind.slice(1)] || d.kind;
    head.appendChild(badge);
    head.appendChild(document.createTextNode(" "));
    if (d.kind === "call") {
      var outcome = document.createElement("span");
      outcome.className = d.answered ? "call-answered" : "call-missed";
      outcome.textContent = (d.direction === "inbound" ? texts.textIncoming + " · " : "") +
        (d.answered ? texts.textAnswered : texts.textMissed);
      head.appendChild(outcome);
      head.appendChild(document.createTextNode(" "));
    }
    var meta = document.createElement("span");
    meta.className = "muted";
    meta.textContent = (d.author ? d.author.name : "") + " · " + when(d.happened_at);
    head.appendChild(meta);
    li.appendChild(head);
    if (d.body) {
      var body = document.createElement("p");
      body.className = "history-body";
      body.textContent = d.body;
      li.appendChild(body);
    }
    return li;
  }

  if (!live || !live.listen) { return; }

  live.listen("contact_interaction", function (d) {
    var list = document.getElementById("history-list");
    if (!list || parseInt(list.dataset.contact, 10) !== d.contact || document.getElementById("i" + d.id)) { return; }
    // Newest first: before the first entry that happened earlier.
    var item = entryElement(d);
    var before = Array.prototype.find.call(list.children, function (li) {
      var time = li.querySelector("time");
      return time && time.getAttribute("datetime") <= d.happened_at;
    });
    var stamp = document.createElement("time");
    stamp.setAttribute("datetime", d.happened_at);
    stamp.className = "hidden";
    item.appendChild(stamp);
    list.insertBefore(item, before || null);
  });

  live.listen("contact_handover", function (d) {
    var list = document.getElementById("contact-todos");
    var text = fill(texts.textHandover, {name: d.name});
    if (list && !list.querySelector("[data-departed='" + d.person + "']")) {
      var li = document.createElement("li");
      li.dataset.departed = d.person;
      var link = document.createElement("a");
      link.href = d.url;
      link.textContent = text;
      li.appendChild(link);
      list.appendChild(li);
      document.getElementById("contact-todo-card").classList.remove("hidden");
    }
    live.toast(text);
  });
  live.listen("contact_shared", function (d) { live.toast(fill(texts.textShared, {by: d.by, name: d.name})); });
  live.listen("contact_owner", function (d) { live.toast(fill(texts.textOwner, {by: d.by})); });
  live.listen("contact_stand_in", function (d) { live.toast(fill(texts.textStandIn, {name: d.name})); });
}());
