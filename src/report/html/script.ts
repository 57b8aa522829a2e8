/**
 * The script the page carries: Vega's runtime (inlined from the installed package, with its licence) and a
 * few lines that replace each static chart by a live Vega view of the same compiled spec, with a tooltip
 * box, legend filtering and zoom where the spec asks for them. With scripts off the static SVG stays.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Mounts every `figure[data-chart]`: reads its compiled spec, renders it into a fresh element, then swaps
 * it in (the static chart stays if anything fails). Counts the mark elements the browser laid out, sets
 * `data-drawn`, and logs a console error when fewer than `data-marks` were drawn; `data-state` says
 * `interactive` or `static`; the views are kept in `window.mtlzooViews` by chart name.
 */
const MOUNT = String.raw`
(function () {
  'use strict';
  var tip = document.createElement('div');
  tip.className = 'vg-tip';
  tip.hidden = true;
  document.body.appendChild(tip);

  function showTip(handler, event, item, value) {
    if (value === undefined || value === null || value === '') { tip.hidden = true; return; }
    var entries = typeof value === 'object' ? Object.entries(value) : [['', value]];
    var table = document.createElement('table');
    entries.forEach(function (entry) {
      var row = table.insertRow();
      var key = row.insertCell();
      key.className = 'key';
      key.textContent = entry[0];
      row.insertCell().textContent = String(entry[1]);
    });
    tip.replaceChildren(table);
    tip.hidden = false;
    var x = event.clientX + 14, y = event.clientY + 14;
    var box = tip.getBoundingClientRect();
    if (x + box.width > window.innerWidth) x = event.clientX - box.width - 14;
    if (y + box.height > window.innerHeight) y = event.clientY - box.height - 14;
    tip.style.left = Math.max(0, x) + 'px';
    tip.style.top = Math.max(0, y) + 'px';
  }

  function drawnMarks(root) {
    var drawn = 0;
    root.querySelectorAll('.role-mark > *').forEach(function (element) {
      var box = element.getBBox();
      if (box.width > 0 || box.height > 0) drawn += 1;
    });
    return drawn;
  }

  var views = {};
  window.mtlzooViews = views;
  var figures = Array.prototype.slice.call(document.querySelectorAll('figure[data-chart]'));
  Promise.all(figures.map(function (figure) {
    var name = figure.dataset.chart;
    var holder = figure.querySelector('.chart');
    var target = document.createElement('div');
    var view;
    try {
      var spec = JSON.parse(document.getElementById('spec-' + name).textContent);
      view = new vega.View(vega.parse(spec), { renderer: 'svg', container: target, hover: true });
      view.tooltip(showTip);
    } catch (error) {
      return Promise.reject(new Error('chart ' + name + ': ' + error.message));
    }
    return view.runAsync().then(function () {
      holder.replaceChildren(target);
      views[name] = view;
      figure.dataset.state = 'interactive';
      var drawn = drawnMarks(target);
      figure.dataset.drawn = String(drawn);
      if (drawn < Number(figure.dataset.marks)) {
        console.error('chart ' + name + ' drew ' + drawn + ' of ' + figure.dataset.marks + ' marks');
      }
    });
  })).then(function () {
    document.body.dataset.charts = 'ready';
  }, function (error) {
    document.body.dataset.charts = 'failed';
    console.error(error.message);
  });
})();
`;

/** `</script` would end the inline script early; `<\/` means the same in JavaScript strings and regexes. */
function inlineSafe(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1');
}

let cached: string | undefined;

/** Vega's minified runtime with its licence, then the mount code, as the text of one `<script>`. */
export function pageScript(): string {
  if (cached === undefined) {
    // vega's package exports only its ES module; the UMD build the page needs lies beside it.
    const entry = createRequire(import.meta.url).resolve('vega');
    const dir = path.dirname(entry);
    const runtime = readFileSync(path.join(dir, 'vega.min.js'), 'utf8');
    const licence = readFileSync(path.join(dir, '..', 'LICENSE'), 'utf8');
    const version = (
      JSON.parse(readFileSync(path.join(dir, '..', 'package.json'), 'utf8')) as { version: string }
    ).version;
    cached = inlineSafe(
      `/*! Vega ${version} (vega/build/vega.min.js), inlined so the report needs no network.\n` +
        `${licence.replace(/\*\//g, '* /')}*/\n${runtime}\n${MOUNT}`,
    );
  }
  return cached;
}
