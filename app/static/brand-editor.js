// The brand editor's live preview: colours, corner radius and names update the
// preview panel as they change, with the WCAG contrast of the text pairs.
(function () {
  "use strict";
  var form = document.getElementById("brand-form");
  var preview = document.getElementById("brand-preview");
  if (!form || !preview) { return; }
  var contrast = document.getElementById("contrast");
  var pairs = [["text", "background"], ["text", "surface"], ["on_primary", "primary"]];

  function value(name) {
    var field = form.elements[name];
    return field ? field.value : "";
  }
  function luminance(hex) {
    var channels = [1, 3, 5].map(function (i) {
      var c = parseInt(hex.substr(i, 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
  }
  function ratio(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  function update() {
    form.querySelectorAll("input[data-var]").forEach(function (input) {
      var key = input.getAttribute("data-var");
      if (key === "radius") {
        preview.style.setProperty("--radius", (parseInt(input.value, 10) || 0) + "px");
      } else {
        preview.style.setProperty("--color-" + key.replace("_", "-"), input.value);
      }
    });
    form.querySelectorAll("input[data-preview]").forEach(function (input) {
      var target = preview.querySelector("[data-preview-text='" + input.getAttribute("data-preview") + "']");
      if (target) { target.textContent = input.value; }
    });
    var lines = pairs.map(function (pair) {
      var r = ratio(value("colors." + pair[0]), value("colors." + pair[1]));
      return pair[0] + " / " + pair[1] + ": " + r.toFixed(2) + ":1 " + (r >= 4.5 ? "\u2713" : "\u2717");
    });
    contrast.textContent = lines.join("  \u00b7  ");
  }
  form.addEventListener("input", update);
  update();
}());
