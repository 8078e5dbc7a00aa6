/**
 * A strict little XML parser for the SVGs vega writes, used by the figure tests to check that a
 * file is well-formed and to count marks. No dependency: the package may not add one, and the
 * SVG vega emits is plain XML (no DTD, no CDATA).
 */

/** An element of the parsed tree. */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    if (e in ENTITIES) return ENTITIES[e];
    throw new Error(`unknown entity ${m}`);
  });
}

/**
 * Parses XML text into an element tree; throws on anything malformed (unclosed or mismatched
 * tags, bad attributes, text outside the root).
 *
 * @example
 * parseXml('<svg><g class="a"/></svg>').children[0].attributes.class; // 'a'
 */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const tagRe = /<([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
  const attrRe = /([A-Za-z_][\w:.-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/g;
  while (i < text.length) {
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i);
      if (end < 0) throw new Error('unterminated processing instruction');
      i = end + 2;
    } else if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i);
      if (end < 0) throw new Error('unterminated comment');
      i = end + 3;
    } else if (text.startsWith('</', i)) {
      const end = text.indexOf('>', i);
      if (end < 0) throw new Error('unterminated closing tag');
      const name = text.slice(i + 2, end).trim();
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`closing </${name}> does not match <${open?.name ?? 'nothing'}> at ${i}`);
      i = end + 1;
    } else if (text[i] === '<') {
      tagRe.lastIndex = i;
      const m = tagRe.exec(text);
      if (!m) throw new Error(`malformed tag at ${i}: ${text.slice(i, i + 40)}`);
      const attributes: Record<string, string> = {};
      for (const a of m[2].matchAll(attrRe)) {
        if (a[1] in attributes) throw new Error(`duplicate attribute ${a[1]} at ${i}`);
        attributes[a[1]] = decode(a[2] ?? a[3] ?? '');
      }
      const el: XmlElement = { name: m[1], attributes, children: [], text: '' };
      if (stack.length) stack[stack.length - 1].children.push(el);
      else if (root) throw new Error('more than one root element');
      else root = el;
      if (m[3] !== '/') stack.push(el);
      i = tagRe.lastIndex;
    } else {
      const end = text.indexOf('<', i);
      const chunk = text.slice(i, end < 0 ? text.length : end);
      if (stack.length) stack[stack.length - 1].text += decode(chunk);
      else if (chunk.trim()) throw new Error(`text outside the root element at ${i}`);
      i = end < 0 ? text.length : end;
    }
  }
  if (stack.length) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  if (!root) throw new Error('no root element');
  return root;
}

/** All descendants (and the element itself) that satisfy `pred`, in document order. */
export function findAll(el: XmlElement, pred: (e: XmlElement) => boolean): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement): void => {
    if (pred(e)) out.push(e);
    e.children.forEach(walk);
  };
  walk(el);
  return out;
}

/**
 * The items of a named vega mark: vega writes each mark as `<g class="mark-<type> role-mark
 * <name>_marks">` holding one element per item (a `<path>` for rects, symbols, lines and areas;
 * a `<line>` for rules). A RegExp matches names (without `_marks`), e.g. /^load_cell_\d+$/.
 */
export function markItems(svg: XmlElement, markName: string | RegExp): XmlElement[] {
  const matches = (cls: string): boolean =>
    typeof markName === 'string' ? cls === `${markName}_marks` : markName.test(cls.replace(/_marks$/, ''));
  const groups = findAll(svg, (e) => e.name === 'g' && (e.attributes.class ?? '').split(' ').some((c) => c.endsWith('_marks') && matches(c)));
  return groups.flatMap((g) => g.children.filter((c) => c.name !== 'g' || !(c.attributes.class ?? '').startsWith('mark-')));
}

/**
 * The data an item shows, from the `aria-label` vega writes on it ("field: value; …").
 *
 * @example
 * ariaData(item); // { config: 'moe', layer: '0', 'share (%)': '12.4252' }
 */
export function ariaData(item: XmlElement): Record<string, string> {
  const label = item.attributes['aria-label'] ?? '';
  const out: Record<string, string> = {};
  for (const part of label.split('; ')) {
    const k = part.indexOf(': ');
    if (k > 0) out[part.slice(0, k)] = part.slice(k + 2);
  }
  return out;
}
