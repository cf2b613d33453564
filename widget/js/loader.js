/*
 * EdgeDesk widget loader, served as /widget.js. Embed with:
 *   <script src="https://HOST/widget.js" data-tenant="ten_…" async></script>
 * Optional: data-locale="en" | "zh-CN", data-api="https://api.example" (defaults to HOST).
 *
 * It costs the page almost nothing: it defines window.EdgeDesk (calls made before the
 * widget is ready are queued and replayed), then waits for the load event and an idle
 * moment before it imports the wasm-bindgen glue and the .wasm from beside this file.
 * Under a Content-Security-Policy the page's script-src needs 'wasm-unsafe-eval'.
 * The build fills in the glue's and the wasm's file names, which carry a content digest so
 * they can be cached for good while this loader is revalidated.
 */
(function (win, doc) {
  var script = doc.currentScript;
  if (!script || win.EdgeDesk) return; // no tag to read, or already embedded once
  var data = script.dataset;
  var dir = new URL('widget/', script.src).href;
  var queue = [];
  var listeners = {};
  var widget, started;
  var api = {
    // Subscribes to 'message' | 'open' | 'close' (also 'ready', 'error'); returns an unsubscribe function.
    on: function (type, fn) {
      (listeners[type] = listeners[type] || []).push(fn);
      return function () {
        listeners[type] = listeners[type].filter(function (f) { return f !== fn; });
      };
    }
  };
  // The widget's commands, by their position in this list.
  'open close toggle setUser setAttributes reset'.split(' ').forEach(function (name, index) {
    api[name] = function (arg) {
      widget ? widget(index, arg) : queue.push([index, arg]);
    };
  });
  function emit(type, detail) {
    if (type == 'ready') api.readyMs = performance.now() - started;
    (listeners[type] || []).slice().forEach(function (fn) {
      // A throwing listener must not break the widget or the other listeners.
      try { fn(detail); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }
  function load() {
    started = performance.now();
    // Fetch the wasm while the glue loads: the two downloads overlap instead of queueing.
    var wasm = fetch(dir + '__WASM__');
    import(dir + '__GLUE__')
      .then(function (glue) {
        return glue.default({ module_or_path: wasm }).then(function () {
          widget = glue.boot(data.tenant || '', data.api || new URL(script.src).origin, data.locale || '', emit);
          queue.forEach(function (call) { widget(call[0], call[1]); });
          queue = [];
        });
      })
      .catch(function (e) { console.error('EdgeDesk widget failed to load', e); });
  }
  function idle() {
    win.requestIdleCallback ? requestIdleCallback(load, { timeout: 3000 }) : setTimeout(load, 1);
  }
  win.EdgeDesk = api;
  doc.readyState == 'complete' ? idle() : win.addEventListener('load', idle);
})(window, document);
