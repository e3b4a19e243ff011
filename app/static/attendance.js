// Attendance: Check in and Check out send the browser's position (Geolocation API) with the form, when
// the tenant has allowed places; the server decides, and says why when it refuses. The day on the page
// follows check-ins made elsewhere and corrections approved, live.
(function () {
  "use strict";
  var live = window.atriumLive;
  var locating = document.getElementById("locating");

  function send(form) {
    form.dataset.located = "1";
    if (locating) { locating.classList.add("hidden"); }
    form.submit();
  }

  function bind(root) {
    root.querySelectorAll("form.punch").forEach(function (form) {
      if (form.dataset.bound) { return; }
      form.dataset.bound = "1";
      form.addEventListener("submit", function (event) {
        var button = form.querySelector("button");
        event.preventDefault();
        if (form.dataset.located || button.disabled) { return; }   // a second click sends nothing more
        button.disabled = true;
        if (form.dataset.geo !== "1" || !navigator.geolocation) { send(form); return; }
        if (locating) { locating.classList.remove("hidden"); }
        navigator.geolocation.getCurrentPosition(function (position) {
          form.elements.latitude.value = position.coords.latitude;
          form.elements.longitude.value = position.coords.longitude;
          form.elements.accuracy.value = Math.round(position.coords.accuracy || 0);
          send(form);
        }, function () {
          send(form);   // without a position: the server explains what is needed
        }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 30000});
      });
    });
  }

  bind(document);
  // Back to a page the browser kept: its buttons work again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    document.querySelectorAll("form.punch").forEach(function (form) {
      delete form.dataset.located;
      form.querySelector("button").disabled = false;
    });
  });
  if (!live) { return; }
  live.handlers.attendance_updated = function () {
    live.refreshRegions(function () { bind(document); });
  };
}());
