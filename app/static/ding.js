// DING alerts on every signed-in page: an urgent banner that stays until the person confirms.
// DINGs alert even off work and during do-not-disturb, so quiet() is never asked here;
// announcements are ordinary news and stay quiet then. Texts come from this script tag's
// data attributes (translated by the server); user text is only ever set as textContent.
(function () {
  "use strict";
  var live = window.atriumLive;
  var script = document.currentScript;
  if (!live || !script) { return; }
  var texts = script.dataset;
  var me = parseInt(document.body.dataset.person, 10);
  var shelf = null;

  // A function as the replacement, so "$&" and the like in a name or title are taken literally.
  function fill(template, marker, value) {
    return template.replace(marker, function () { return value; });
  }

  function alertShelf() {
    if (!shelf) {
      shelf = document.createElement("div");
      shelf.className = "ding-alerts";
      shelf.id = "ding-alerts";
      document.body.appendChild(shelf);
    }
    return shelf;
  }

  function closeAlert(id) {
    var box = document.getElementById("ding-alert-" + id);
    if (box) { box.remove(); }
    var row = document.querySelector("#ding-received [data-ding='" + id + "']");
    if (row) {
      row.classList.remove("ding-waiting");
      var form = row.querySelector("form");
      if (form) { form.remove(); }
    }
  }

  function confirmDing(d, button) {
    var body = new FormData();
    body.append("csrf_token", live.csrf());
    button.disabled = true;  // a second click does not confirm twice
    fetch(d.confirm_url, {method: "POST", body: body, credentials: "same-origin",
                          headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        closeAlert(d.id);
      })
      .catch(function () {
        button.disabled = false;
        live.toast(texts.textFailed, true);
      });
  }

  function showDing(d) {
    var existing = document.getElementById("ding-alert-" + d.id);
    if (existing) {
      // A reminder for an alert still on screen: bring it to the front and make it pulse again.
      existing.classList.remove("ding-alert-again");
      void existing.offsetWidth;
      existing.classList.add("ding-alert-again");
      alertShelf().insertBefore(existing, shelf.firstChild);
      return;
    }
    var box = document.createElement("section");
    box.className = "ding-alert";
    box.id = "ding-alert-" + d.id;
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-labelledby", box.id + "-title");
    var title = document.createElement("h2");
    title.id = box.id + "-title";
    title.textContent = fill(texts.textFrom, "{name}", d.sender_name);
    var text = document.createElement("p");
    text.className = "ding-alert-text";
    text.textContent = d.text;
    var actions = document.createElement("div");
    actions.className = "ding-alert-actions";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "primary";
    button.textContent = texts.textConfirm;
    button.addEventListener("click", function () { confirmDing(d, button); });
    var open = document.createElement("a");
    open.href = d.url;
    open.textContent = texts.textOpen;
    actions.appendChild(button);
    actions.appendChild(open);
    box.appendChild(title);
    box.appendChild(text);
    box.appendChild(actions);
    alertShelf().insertBefore(box, shelf.firstChild);
    button.focus({preventScroll: true});
  }

  function counts(status, confirmed, total) {
    status.dataset.confirmed = confirmed;
    status.dataset.total = total;
    document.getElementById("ding-counts").textContent =
      status.dataset.textCounts.replace("999001", confirmed).replace("999002", total - confirmed);
  }

  // In the person's own time zone, as the server renders times, not the browser's.
  function localTime(iso) {
    if (!iso) { return ""; }
    return new Date(iso).toLocaleString(document.documentElement.lang || undefined,
                                        {timeZone: document.body.dataset.timezone, dateStyle: "short", timeStyle: "short"});
  }

  function onUpdated(u) {
    if (u.person === me) { closeAlert(u.id); }
    var status = document.getElementById("ding-status");
    if (!status || parseInt(status.dataset.ding, 10) !== u.id || u.total === undefined) { return; }
    counts(status, u.confirmed, u.total);
    var row = u.person ? document.querySelector("#ding-waiting [data-person='" + u.person + "']") : null;
    if (row) {
      var note = row.querySelector(".muted");
      if (note) { note.textContent = localTime(u.confirmed_at); }
      document.getElementById("ding-confirmed").appendChild(row);
    }
    var stop = document.getElementById("ding-stop");
    if (stop && (u.stopped || u.confirmed >= u.total)) { stop.remove(); }
  }

  function onAnnouncement(a) {
    if (a.author === me || live.quiet()) { return; }
    live.toast(fill(texts.textAnnouncement, "{title}", a.title), a.important);
  }

  live.handlers.ding = showDing;
  live.handlers.ding_updated = onUpdated;
  live.handlers.announcement = onAnnouncement;

  // DINGs that went out before this page opened: shown at once instead of at the next reminder.
  fetch(texts.pendingUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
    .then(function (response) { return response.ok ? response.json() : {dings: []}; })
    .then(function (data) { data.dings.forEach(showDing); })
    .catch(function () { return null; });  // offline for now: the next reminder brings them
}());
