/** A small dependency-free SVG line chart for the bench results (latency distributions). */

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** "Nice" tick values covering 0..max. */
function ticks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  return Array.from({ length: Math.floor(max / step) + 1 }, (_, i) => Math.round(i * step * 1e6) / 1e6);
}

export function lineChart(chart: { title: string; xLabel: string; yLabel: string; series: Series[] }): string {
  const [width, height] = [760, 420];
  const margin = { left: 60, right: 20, top: 40, bottom: 50 + 18 * Math.ceil(chart.series.length / 2) };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const xMax = Math.max(1, ...chart.series.flatMap((s) => s.points.map(([x]) => x)));
  const yMax = Math.max(1e-9, ...chart.series.flatMap((s) => s.points.map(([, y]) => y)));
  const x = (v: number) => margin.left + (v / xMax) * plotW;
  const y = (v: number) => margin.top + plotH - (v / yMax) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escape(chart.title)}</text>`,
    `<line x1="${margin.left}" y1="${margin.top + plotH}" x2="${margin.left + plotW}" y2="${margin.top + plotH}" stroke="black"/>`,
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotH}" stroke="black"/>`,
  ];
  for (const t of ticks(xMax)) parts.push(`<line x1="${x(t)}" y1="${margin.top}" x2="${x(t)}" y2="${margin.top + plotH}" stroke="#eee"/><text x="${x(t)}" y="${margin.top + plotH + 16}" text-anchor="middle">${t}</text>`);
  for (const t of ticks(yMax)) parts.push(`<line x1="${margin.left}" y1="${y(t)}" x2="${margin.left + plotW}" y2="${y(t)}" stroke="#eee"/><text x="${margin.left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  parts.push(`<text x="${margin.left + plotW / 2}" y="${margin.top + plotH + 34}" text-anchor="middle">${escape(chart.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`);
  chart.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const d = s.points.map(([px, py], j) => `${j === 0 ? 'M' : 'L'}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    const lx = margin.left + (i % 2) * (plotW / 2);
    const ly = margin.top + plotH + 52 + 18 * Math.floor(i / 2);
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="14" height="4" fill="${colour}"/><text x="${lx + 20}" y="${ly - 4}">${escape(s.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
