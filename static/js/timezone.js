// Show times in the visitor's own zone: the browser knows it (Intl), the server does not.
// Without JavaScript the zone list and ?tz= do the same job.
(function () {
  "use strict";
  var body = document.body;
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!zone) return;
  var select = document.getElementById("tz");
  var known = select && Array.prototype.some.call(select.options, function (o) {
    return o.value === zone;
  });
  // Only a plain GET without ?tz= is redirected: a POSTed page must keep its form and errors.
  if (body.dataset.detectZone === "1" && known && body.dataset.zone !== zone) {
    var params = new URLSearchParams(window.location.search);
    params.set("tz", zone);
    window.location.replace(window.location.pathname + "?" + params.toString() + window.location.hash);
  }
})();
