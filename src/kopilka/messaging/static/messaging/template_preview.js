// The message template's live preview: the form's values rendered for a real member as they
// are typed (the server renders; this only asks and shows).
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(function () {
    var box = document.getElementById("template-preview");
    var form = box && box.closest("form");
    if (!form) return;
    var fields = ["name", "channel", "language", "subject", "text", "preview_member"];
    var timer = null;
    var asked = 0;
    function value(name) {
      var input = form.elements.namedItem(name);
      return input ? input.value : "";
    }
    function show(data) {
      box.querySelector(".template-preview-who").textContent = data.member || "";
      box.querySelector(".template-preview-subject").textContent = data.subject || "";
      var text = box.querySelector(".template-preview-text");
      text.textContent = data.text || "";
      text.hidden = !data.text;
      var length = box.querySelector(".template-preview-length");
      length.textContent = data.text ? data.length || "" : "";
      var error = box.querySelector(".template-preview-error");
      error.textContent = data.error || "";
      error.hidden = !data.error;
    }
    function ask() {
      var query = new URLSearchParams();
      fields.forEach(function (name) {
        query.set(name === "preview_member" ? "member" : name, value(name));
      });
      var mine = ++asked;
      fetch(box.dataset.url + "?" + query.toString(), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (data) { if (mine === asked) show(data); })
        .catch(function () {});
    }
    fields.forEach(function (name) {
      var input = form.elements.namedItem(name);
      if (!input) return;
      input.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(ask, 250);
      });
      input.addEventListener("change", ask);
    });
    ask();
  });
})();
