// Approvals: a form is sent once however often it is clicked, and a request's page, the boxes and the
// to-do count follow what others do, live. Texts come from this script tag's data attributes
// (translated by the server); names from events are only ever set as text.
(function () {
  "use strict";
  var live = window.atriumLive;
  var script = document.currentScript;
  var texts = script ? script.dataset : {};

  function fill(template, value) {
    return (template || "").replace("{name}", function () { return value; });
  }

  function guard(root) {
    root.querySelectorAll("form[data-once]").forEach(function (form) {
      if (form.dataset.guarded) { return; }
      form.dataset.guarded = "1";
      form.addEventListener("submit", function (event) {
        if (form.dataset.sent) { event.preventDefault(); return; }
        form.dataset.sent = "1";
        // After the browser took the clicked button's action: disabling it sooner would drop it.
        setTimeout(function () {
          form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
        }, 0);
      });
    });
  }

  function refresh() {
    var panel = document.getElementById("approval-panel");
    var reason = panel ? panel.querySelector("#reason") : null;
    var typed = reason ? reason.value : "";
    live.refreshRegions(function () {
      var fresh = document.getElementById("reason");
      if (fresh && typed && !fresh.value) { fresh.value = typed; }
      guard(document);
    });
  }

  guard(document);
  // Back to a page the browser kept: its forms can be sent again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      delete form.dataset.sent;
      form.querySelectorAll("button").forEach(function (button) { button.disabled = false; });
    });
  });
  if (!live) { return; }

  live.handlers.approval_updated = function (u) {
    var panel = document.getElementById("approval-panel");
    if (panel && parseInt(panel.dataset.approval, 10) === u.id) {
      if (u.version > parseInt(panel.dataset.version, 10)) { refresh(); }
      return;
    }
    if (document.getElementById("approval-list")) { refresh(); }
  };
  live.handlers.approval_todo = function (t) {
    live.toast(fill(texts.textTodo, t.applicant_name), true);
    if (document.getElementById("approval-list")) { refresh(); }
  };
  live.handlers.approval_outcome = function (o) {
    var text;
    if (o.copied) { text = texts.textCopied; }
    else if (o.status === "approved") { text = texts.textApproved; }
    else if (o.status === "rejected") { text = fill(texts.textRejected, o.actor_name); }
    else if (o.status === "returned") { text = fill(texts.textReturned, o.actor_name); }
    else if (o.status === "withdrawn") { text = texts.textWithdrawn; }
    if (text) { live.toast(text, o.status !== "approved"); }
  };
}());
