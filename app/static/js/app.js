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

  // A room that opens later: show how long to wait, in the page's language.
  document.addEventListener("DOMContentLoaded", function () {
    var countdown = document.querySelector(".countdown[data-opens-at]");
    if (!countdown || !window.Intl || !Intl.RelativeTimeFormat) { return; }
    var opensAt = new Date(countdown.dataset.opensAt);
    var words = new Intl.RelativeTimeFormat(document.documentElement.lang, { numeric: "auto" });
    function tick() {
      var seconds = Math.max(0, Math.round((opensAt - new Date()) / 1000));
      countdown.textContent = seconds > 90 ? words.format(Math.ceil(seconds / 60), "minute")
                                           : words.format(seconds, "second");
      if (seconds === 0) { window.location.reload(); }
    }
    tick();
    window.setInterval(tick, 1000);
  });

  // A seat held while paying: the minutes left, updated in place (the element is swapped by
  // htmx when the hold is extended, so it is looked up on every tick). At zero the page is
  // reloaded, and the server explains that the hold ran out.
  window.setInterval(function () {
    var left = document.querySelector(".countdown[data-until]");
    if (!left || !window.Intl) { return; }
    var seconds = Math.max(0, Math.round((new Date(left.dataset.until) - new Date()) / 1000));
    if (seconds === 0) { window.location.reload(); return; }
    var unit = seconds > 90 ? "minute" : "second";
    left.textContent = new Intl.NumberFormat(document.documentElement.lang, {
      style: "unit", unit: unit, unitDisplay: "long"
    }).format(unit === "minute" ? Math.ceil(seconds / 60) : seconds);
  }, 1000);

  // "Copy" buttons copy the text of the element their data-copy names.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button || !navigator.clipboard) { return; }
    var source = document.getElementById(button.dataset.copy);
    navigator.clipboard.writeText(source.value || source.textContent).then(function () {
      button.textContent = button.dataset.copied;
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

  function showRequestError(event) {
    var box = document.getElementById("request-error");
    if (!box) { return; }
    var xhr = event.detail.xhr;
    // While the database is briefly away, a 503 brings its own notice (that data is safe).
    var notice = xhr && xhr.status === 503 &&
      new DOMParser().parseFromString(xhr.responseText, "text/html").querySelector(".unavailable-notice");
    if (notice) {
      box.replaceChildren(notice);
    } else {
      box.textContent = document.body.dataset.requestFailed;
    }
    box.hidden = false;
  }
  document.addEventListener("htmx:responseError", showRequestError);
  document.addEventListener("htmx:sendError", showRequestError);
})();
