// The process diagram of an application, drawn by the vendored bpmn-js viewer (zoom and pan).
// Each <figure data-bpmn-viewer> names the BPMN XML of the application's deployment (data-xml-url) and the
// path to mark, as JSON in data-path or at data-path-url (both computed on the server from the history).
// Until the viewer has drawn, and without JavaScript or in print, the server's SVG inside the figure shows.
// A file, not inline script: the Content-Security-Policy forbids inline script and style.
(function () {
  "use strict";

  var MARKERS = { done: "zc-done", flows: "zc-taken", current: "zc-current" };
  var ZOOM_STEP = 1.25;

  function fetchText(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status + " " + url); }
      return response.text();
    });
  }

  function pathOf(figure) {
    if (figure.dataset.pathUrl) { return fetchText(figure.dataset.pathUrl).then(JSON.parse); }
    return Promise.resolve(JSON.parse(figure.dataset.path || "{}"));
  }

  function mark(viewer, path) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    Object.keys(MARKERS).forEach(function (key) {
      (path[key] || []).forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, MARKERS[key]); }
      });
    });
  }

  function zoomBy(viewer, factor) {
    var canvas = viewer.get("canvas");
    var box = canvas.viewbox();
    // zoom about the middle of what is shown, so the part being read stays in view
    canvas.zoom(canvas.zoom() * factor, { x: box.x + box.width / 2, y: box.y + box.height / 2 });
  }

  function fit(viewer) {
    viewer.get("canvas").zoom("fit-viewport", "auto");
  }

  // The whole process fitted into the frame is small print: this shows the current task at full size.
  function showCurrent(viewer, ids) {
    var canvas = viewer.get("canvas");
    var element = viewer.get("elementRegistry").get(ids[0]);
    if (!element) { return; }
    canvas.zoom(1);
    var box = canvas.viewbox();
    canvas.viewbox({
      x: element.x + element.width / 2 - box.width / 2,
      y: element.y + element.height / 2 - box.height / 2,
      width: box.width,
      height: box.height
    });
  }

  function wire(figure, viewer, path) {
    var current = (path.current || []).filter(function (id) { return viewer.get("elementRegistry").get(id); });
    figure.querySelectorAll("[data-zoom]").forEach(function (button) {
      if (button.dataset.zoom === "current") { button.hidden = current.length === 0; }
      button.addEventListener("click", function () {
        var action = button.dataset.zoom;
        if (action === "in") { zoomBy(viewer, ZOOM_STEP); }
        else if (action === "out") { zoomBy(viewer, 1 / ZOOM_STEP); }
        else if (action === "current") { showCurrent(viewer, current); }
        else { fit(viewer); }
      });
    });
  }

  function show(figure) {
    var container = figure.querySelector(".bpmn-canvas");
    var fallback = figure.querySelector(".bpmn-fallback");
    if (typeof window.BpmnJS !== "function" || !container) { return; }
    container.hidden = false; // the viewer measures its container: it must be laid out before importing
    // keyboard.bind: with the drawing focused (Tab), Ctrl+arrow keys pan it and Ctrl +/- zoom
    var viewer = new window.BpmnJS({ container: container, keyboard: { bind: true } });
    Promise.all([fetchText(figure.dataset.xmlUrl), pathOf(figure)])
      .then(function (loaded) {
        return viewer.importXML(loaded[0]).then(function () { return loaded[1]; });
      })
      .then(function (path) {
        fit(viewer);
        mark(viewer, path);
        wire(figure, viewer, path);
        figure.querySelectorAll(".bpmn-toolbar, .bpmn-hint").forEach(function (el) { el.hidden = false; });
        if (fallback) { fallback.hidden = true; }
        figure.dataset.viewer = "ready";
        figure.bpmnViewer = viewer; // for the browser tests
      })
      .catch(function (err) {
        // the server's drawing stays: a reader loses zoom, not the diagram
        viewer.destroy();
        container.hidden = true;
        figure.dataset.viewer = "failed";
        if (window.console) { window.console.warn("流程图查看器未能加载：", err); }
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-bpmn-viewer]").forEach(show);
  });
})();
