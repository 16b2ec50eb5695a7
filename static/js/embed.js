// Embedded pages (?embed=1, scheduler/embed.py) talk to the embedding page:
//   {type: "booking.created", uid}  once, on the confirmation of a new booking;
//   {type: "booking.height", height} whenever the page's height changes, so the embedding
//   page can size the <iframe> to its content (optional: the frame scrolls otherwise).
// Messages go to the embedding page's origin only, never "*": the server names it
// (data-embed-parent, one of the account's embedOrigins), else the browser does
// (location.ancestorOrigins, where supported) when it is one of data-embed-origins.
(function () {
  "use strict";
  if (window.parent === window) return;
  var body = document.body;
  var allowed = (body.dataset.embedOrigins || "").split(" ").filter(Boolean);
  var target = body.dataset.embedParent || "";
  var ancestors = window.location.ancestorOrigins;
  if (!target && ancestors && ancestors.length) target = ancestors[0];
  if (!target || allowed.indexOf(target) < 0) return;

  var created = document.querySelector("[data-booking-created]");
  if (created) {
    window.parent.postMessage({ type: "booking.created", uid: created.dataset.bookingCreated }, target);
  }

  // The body's own height: the document's would never shrink below the frame's.
  var sent = 0;
  function postHeight() {
    var height = Math.ceil(body.getBoundingClientRect().height);
    if (height !== sent) {
      sent = height;
      window.parent.postMessage({ type: "booking.height", height: height }, target);
    }
  }
  postHeight();
  if (window.ResizeObserver) new ResizeObserver(postHeight).observe(body);
})();
