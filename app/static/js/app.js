// Progressive enhancement only: every form here also works without JavaScript.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Tell the server the browser's time zone, so times show in it before the user picks one.
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && document.cookie.indexOf("lectern_tz=") === -1) {
    document.cookie = "lectern_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
  }

  document.addEventListener("DOMContentLoaded", function () {
    // Selects marked data-autosubmit submit their form on change (the button is for no-JS).
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    // After a form comes back with errors (422), put the focus on the first wrong field.
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      var invalid = document.querySelector("main [aria-invalid='true']");
      if (invalid) { invalid.focus(); }
    }
  });

  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("request-error");
    if (box) { box.hidden = true; }
  });

  function showRequestError() {
    var box = document.getElementById("request-error");
    if (box) {
      box.textContent = document.body.dataset.requestFailed;
      box.hidden = false;
    }
  }
  document.addEventListener("htmx:responseError", showRequestError);
  document.addEventListener("htmx:sendError", showRequestError);
})();
