// Adds each session's start in the visitor's own time zone (the browser's, or one they pick).
// The page is complete without this: it already shows US Pacific Time and UTC.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var note = document.getElementById("zone-note");
  var picker = document.getElementById("zone");
  var browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

  function zoneName(zone) { return zone.replace(/_/g, " "); }

  // "Central European Time (Europe/Berlin)": the zone's everyday name in the page's language, and its id.
  function zoneLabel(zone) {
    var parts = [];
    try {
      parts = new Intl.DateTimeFormat(lang, { timeZone: zone, timeZoneName: "longGeneric" }).formatToParts(new Date());
    } catch (error) { /* an old browser without longGeneric: the id alone */ }
    for (var i = 0; i < parts.length; i++) {
      if (parts[i].type === "timeZoneName") { return parts[i].value + " (" + zoneName(zone) + ")"; }
    }
    return zoneName(zone);
  }

  function show(zone) {
    var format = new Intl.DateTimeFormat(lang, {
      timeZone: zone, weekday: "long", day: "numeric", month: "long", year: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    });
    var times = document.querySelectorAll("time[data-local]");
    for (var i = 0; i < times.length; i++) {
      times[i].textContent = format.format(new Date(times[i].getAttribute("datetime")));
      times[i].parentNode.hidden = false;
    }
    note.textContent = note.getAttribute("data-template").replace("{zone}", zoneLabel(zone));
    note.hidden = false;
  }

  function fillPicker() {
    var zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    var first = document.createElement("option");
    first.value = browserZone;
    first.textContent = picker.getAttribute("data-browser").replace("{zone}", zoneLabel(browserZone));
    picker.appendChild(first);
    for (var i = 0; i < zones.length; i++) {
      var option = document.createElement("option");
      option.value = zones[i];
      option.textContent = zoneName(zones[i]);
      picker.appendChild(option);
    }
    picker.addEventListener("change", function () { show(picker.value); });
    document.getElementById("zone-choice").hidden = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    fillPicker();
    show(browserZone);
  });
})();
