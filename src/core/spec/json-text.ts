import type { SpecProblem } from './schema.js';

/**
 * Reading a spec's JSON text, stricter than JSON.parse where JSON.parse is silent: a key given twice in one object
 * is a problem (JSON.parse keeps the last value, so the operator would deploy what they did not read), and a
 * leading UTF-8 byte order mark, which some editors write, is accepted.
 */

const BOM = '\uFEFF';

/**
 * Control and invisible format characters (zero-width space, BOM, bidi marks) written as `U+XXXX`, so that a
 * JSON.parse message quoting the text shows what is there and stays on one line.
 */
const visible = (text: string) =>
  text.replace(
    /[\p{Cc}\p{Cf}]/gu,
    (char) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`,
  );

/** One open object or array while scanning: where it sits in its parent, and the keys seen or the index reached. */
interface Frame {
  parent: Frame | undefined;
  /** Its key or index in the parent. */
  at: string;
  keys?: Set<string>;
  key?: string;
  index: number;
}

/** The dotted path of a frame, from the root: built only for a duplicate, so deep nesting stays linear. */
function pathOf(frame: Frame | undefined): string[] {
  const path: string[] = [];
  for (let f = frame; f?.parent; f = f.parent) path.unshift(f.at);
  return path;
}

/**
 * The dotted path (`flavor.cassandra`, `allowedCidrs.0.x`) of every key given more than once in one object, once
 * each, in text order. The text must be valid JSON (JSON.parse accepted it): this is a scan, not a parser.
 * Iterative, so a deeply nested text cannot overflow the stack.
 */
export function duplicateKeys(text: string): string[] {
  const found: string[] = [];
  let top: Frame | undefined;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '{' || char === '[') {
      const at = top ? (top.keys ? (top.key ?? '') : String(top.index)) : '';
      top = { parent: top, at, index: 0, ...(char === '{' ? { keys: new Set<string>() } : {}) };
      expectKey = char === '{';
    } else if (char === '}' || char === ']') {
      top = top?.parent;
      expectKey = false;
    } else if (char === ',') {
      if (top?.keys) expectKey = true;
      else if (top) top.index++;
    } else if (char === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (expectKey && top?.keys) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (top.keys.has(key)) {
          const path = [...pathOf(top), key].join('.');
          if (!found.includes(path)) found.push(path);
        }
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
    }
  }
  return found;
}

/**
 * Parses a spec's JSON text: a leading byte order mark is dropped, a syntax error is one problem, and each key
 * given twice is one problem naming its path. Fields are checked afterwards by checkSpec.
 */
export function parseSpecJson(
  text: string,
): { value: unknown; problems: [] } | { value: null; problems: SpecProblem[] } {
  const body = text.startsWith(BOM) ? text.slice(BOM.length) : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return {
      value: null,
      problems: [{ field: '(spec)', message: `not valid JSON: ${visible((error as Error).message)}` }],
    };
  }
  const duplicates = duplicateKeys(body);
  if (duplicates.length > 0) {
    return {
      value: null,
      problems: duplicates.map((field) => ({
        field,
        message:
          'key given more than once in the same object; JSON keeps only the last value, so give it once',
      })),
    };
  }
  return { value, problems: [] };
}
