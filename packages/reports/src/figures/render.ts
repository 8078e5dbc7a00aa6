/**
 * Vega-Lite spec -> SVG (vega, headless) -> PNG (resvg). No native canvas build: vega renders
 * SVG as a string with `renderer: 'none'`, and resvg (a Rust rasteriser shipped as a prebuilt
 * Node-API binary) turns it into a PNG. resvg draws text only with a font it can load: on a bare
 * machine with no fonts, text in the PNG would silently vanish, hence `fontSetup()`.
 */
import { existsSync } from 'node:fs';
import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A figure ready to render: a self-contained Vega-Lite spec (data inline) and its words. */
export interface Figure {
  /** File stem: `figures/<name>.svg|png|vl.json`. */
  name: string;
  title: string;
  /** One sentence for report.md saying what the figure shows. */
  caption: string;
  spec: TopLevelSpec;
}

/** A figure that a study's data cannot support, and why (listed in report.md). */
export interface SkippedFigure {
  name: string;
  title: string;
  reason: string;
}

/** Whether a builder returned a figure or a reason. */
export function isFigure(f: Figure | SkippedFigure): f is Figure {
  return 'spec' in f;
}

/** Fonts resvg is pointed at, and the family that `sans-serif` maps to. */
export interface FontSetup {
  family: string | null;
  dirs: string[];
}

/** Font folders to look in, with the family they provide; first found wins. */
const FONT_CANDIDATES: { file: string; family: string }[] = [
  { file: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', family: 'DejaVu Sans' }, // Debian/Ubuntu fonts-dejavu-core
  { file: '/usr/share/fonts/TTF/DejaVuSans.ttf', family: 'DejaVu Sans' }, // Arch
  { file: '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf', family: 'DejaVu Sans' }, // Fedora
  { file: '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf', family: 'Liberation Sans' },
  { file: '/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf', family: 'Noto Sans' },
  { file: '/Library/Fonts/Arial.ttf', family: 'Arial' },
];

let cachedFonts: FontSetup | undefined;

/**
 * Finds a sans-serif font for the PNGs. `MOEPP_FONT_DIR` (+ `MOEPP_FONT_FAMILY`) overrides the
 * search. `family: null` means none was found: text in PNGs may be blank (SVGs are unaffected);
 * on Debian `apt-get install -y fonts-dejavu-core` fixes it.
 */
export function fontSetup(): FontSetup {
  if (cachedFonts) return cachedFonts;
  const envDir = process.env.MOEPP_FONT_DIR;
  if (envDir && existsSync(envDir)) {
    cachedFonts = { family: process.env.MOEPP_FONT_FAMILY ?? null, dirs: [envDir] };
  } else {
    const hit = FONT_CANDIDATES.find((c) => existsSync(c.file));
    cachedFonts = hit ? { family: hit.family, dirs: [hit.file.slice(0, hit.file.lastIndexOf('/'))] } : { family: null, dirs: [] };
  }
  return cachedFonts;
}

/** Shared look of every figure; restyle by editing the saved `.vl.json` specs. */
export const BASE_CONFIG = {
  font: 'sans-serif',
  background: 'white',
  padding: 8,
  view: { stroke: '#ddd' },
  title: { fontSize: 14, anchor: 'start', subtitleFontSize: 11, subtitleColor: '#555' },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  header: { labelFontSize: 12, titleFontSize: 12 },
} as const;

/**
 * Renders a Vega-Lite spec to an SVG string, headless and deterministic.
 *
 * @example
 * const svg = await renderSvg({ data: { values: [{ x: 1, y: 2 }] }, mark: 'point',
 *   encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } });
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // vega-lite warns about benign layouts (e.g. filtered layers in a facet); keep stdout clean.
  const vgSpec = compile(spec, { logger: vega.logger(vega.Error) }).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logLevel: vega.Error });
  try {
    return normalizeSvgIds(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * Renumbers vega's gradient and clip-path ids in order of appearance. vega numbers them with
 * module-wide counters, so the same spec says `gradient_0` once and `gradient_1` the next time;
 * `vega.resetSVGDefIds()` cannot help because two copies of vega-scenegraph are installed (vega
 * re-exports 5.3, the encoder that creates gradients uses 5.1). Renumbering makes the SVG a
 * pure function of the spec, which is what an idempotent report needs.
 */
export function normalizeSvgIds(svg: string): string {
  const ids = new Map<string, string>();
  const counters: Record<string, number> = {};
  return svg.replace(/(id="|url\(#)(gradient_|clip)(\d+)/g, (_m, lead: string, prefix: string, n: string) => {
    const old = prefix + n;
    let id = ids.get(old);
    if (id === undefined) {
      counters[prefix] = (counters[prefix] ?? 0) + 1;
      id = `${prefix}${counters[prefix] - (prefix === 'clip' ? 0 : 1)}`;
      ids.set(old, id);
    }
    return lead + id;
  });
}

/**
 * Rasterises an SVG to PNG at `scale`× (2 by default: sharp on slides and high-DPI screens).
 *
 * @example
 * writeFileSync('fig.png', svgToPng(svg));
 */
export function svgToPng(svg: string, scale = 2): Buffer {
  const fonts = fontSetup();
  const font: ResvgRenderOptions['font'] = fonts.family
    ? { loadSystemFonts: false, fontDirs: fonts.dirs, defaultFontFamily: fonts.family, sansSerifFamily: fonts.family }
    : { loadSystemFonts: true };
  return new Resvg(svg, { font, fitTo: { mode: 'zoom', value: scale }, background: 'white', logLevel: 'off' }).render().asPng();
}

/** The three files of a figure. */
export interface RenderedFigure {
  svg: string;
  png: Buffer;
  /** Pretty-printed Vega-Lite spec, for restyling. */
  specJson: string;
}

/** Renders a figure to SVG, PNG and its spec text. */
export async function renderFigure(figure: Figure, options: { png?: boolean } = {}): Promise<RenderedFigure> {
  const svg = await renderSvg(figure.spec);
  return {
    svg,
    png: options.png === false ? Buffer.alloc(0) : svgToPng(svg),
    specJson: JSON.stringify(figure.spec, null, 2) + '\n',
  };
}
