// The marketer console's live preview: as the program form changes, post it to the preview
// URL and show the examples it prices. Without this script the "Show the examples" button
// does the same with a page load.
(function () {
  "use strict";
  var form = document.getElementById("program-form");
  var target = document.getElementById("preview");
  if (!form || !target || !window.fetch) { return; }
  var timer = null;
  var sent = 0;
  function refresh() {
    var number = ++sent;
    fetch(form.dataset.preview, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null && number === sent) { target.innerHTML = html; }
      })
      .catch(function () { /* offline: the button still works */ });
  }
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
