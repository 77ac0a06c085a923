// The site's only script, served from /static/app.js so the Content-Security-Policy can forbid
// inline script. Every page works without it; each part below only adds to a page that has
// the element it needs.
(function () {
  // After a failed submit, take keyboard and screen reader users straight to what went wrong
  // (or to what needs a second look).
  var summary = document.getElementById("error-summary") || document.querySelector("[data-focus]");
  if (summary) summary.focus();

  // Signup: the chosen market's minimum hours under the hours field; without JavaScript the
  // list below the field says the same.
  var country = document.getElementById("country");
  var hint = document.getElementById("weekly_hours-hint");
  if (country && hint) {
    country.addEventListener("change", function () {
      var option = country.options[country.selectedIndex];
      var min = option && option.getAttribute("data-min-hours");
      if (min) {
        hint.textContent = "In " + option.textContent + " we can schedule you from " + min +
          " hours a week; at most " + hint.getAttribute("data-max") + ".";
      } else {
        hint.textContent = hint.getAttribute("data-general");
      }
    });
  }

  // Quiz: the time left, counting down.
  var left = document.getElementById("time-left");
  if (left) {
    var end = Number(left.getAttribute("data-deadline"));
    var tick = function () {
      var s = Math.max(0, Math.round((end - Date.now()) / 1000));
      left.textContent = Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
      if (s > 0) setTimeout(tick, 1000);
    };
    tick();
  }
})();
