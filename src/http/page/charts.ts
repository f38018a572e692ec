/**
 * The status page's charts (served as /charts.js): small inline SVG line charts drawn from `GET /api/history`,
 * with no library and no CDN. Built with createElementNS and attributes only (no markup strings, no inline
 * style), so it runs under the page's CSP. Each series is a `<g class="series" data-series=… data-points=N>`,
 * which the browser tests read.
 */
export const CHARTS_JS = `'use strict';
(function () {
  var SVG = 'http://www.w3.org/2000/svg';
  var W = 320, H = 110, LEFT = 40, RIGHT = 6, TOP = 8, BOTTOM = 18;

  function node(tag, attrs, text) {
    var el = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (key) { el.setAttribute(key, String(attrs[key])); });
    if (text !== undefined) el.textContent = text;
    return el;
  }
  /** A round upper bound for the y axis: 1, 2 or 5 times a power of ten. */
  function niceMax(value) {
    if (!(value > 0)) return 1;
    var power = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i += 1) if (steps[i] * power >= value) return steps[i] * power;
    return 10 * power;
  }
  function ago(ms) {
    var s = Math.round(ms / 1000);
    return s <= 0 ? 'now' : s < 90 ? '-' + s + ' s' : '-' + Math.round(s / 60) + ' min';
  }

  /**
   * Draws a line chart into \`svg\`: series = [{ name, cls, points: [[atMs, value|null], …], dashed }], over
   * [from, to] (epoch ms); \`format\` turns a y value into a label. A null value breaks the line.
   */
  function draw(svg, options) {
    svg.replaceChildren();
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var from = options.from, to = Math.max(options.to, options.from + 1);
    var max = 0;
    options.series.forEach(function (s) { s.points.forEach(function (p) { if (p[1] !== null && p[1] > max) max = p[1]; }); });
    max = niceMax(options.minMax !== undefined ? Math.max(max, options.minMax) : max);
    var x = function (t) { return LEFT + (W - LEFT - RIGHT) * (t - from) / (to - from); };
    var y = function (v) { return TOP + (H - TOP - BOTTOM) * (1 - v / max); };
    var axis = node('g', { class: 'axis' });
    [0, max / 2, max].forEach(function (v) {
      axis.appendChild(node('line', { x1: LEFT, x2: W - RIGHT, y1: y(v), y2: y(v), class: 'grid' }));
      axis.appendChild(node('text', { x: LEFT - 4, y: y(v) + 3, 'text-anchor': 'end' }, options.format(v)));
    });
    axis.appendChild(node('text', { x: LEFT, y: H - 4, 'text-anchor': 'start' }, ago(to - from)));
    axis.appendChild(node('text', { x: W - RIGHT, y: H - 4, 'text-anchor': 'end' }, 'now'));
    svg.appendChild(axis);
    options.series.forEach(function (s) {
      var group = node('g', { class: 'series ' + (s.cls || ''), 'data-series': s.name });
      var count = 0, segment = [];
      var flush = function () {
        if (segment.length === 1) group.appendChild(node('circle', { cx: segment[0][0], cy: segment[0][1], r: 1.8 }));
        else if (segment.length > 1) group.appendChild(node('polyline', { points: segment.map(function (p) { return p[0].toFixed(1) + ',' + p[1].toFixed(1); }).join(' '), class: s.dashed ? 'dashed' : '' }));
        segment = [];
      };
      s.points.forEach(function (p) {
        if (p[1] === null || p[0] < from) { flush(); return; }
        segment.push([x(p[0]), y(p[1])]);
        count += 1;
      });
      flush();
      group.setAttribute('data-points', String(count));
      var title = node('title', {}, s.name);
      group.appendChild(title);
      svg.appendChild(group);
    });
  }

  window.ExasCharts = { draw: draw, niceMax: niceMax };
})();
`;
