/**
 * How a dead letter's body is shown: JSON pretty-printed, other UTF-8 text escaped, anything else as
 * base64. Pretty-printing re-indents the text as sent instead of parsing and printing it again, so numbers
 * too large for a double and string escapes appear exactly as the producer wrote them.
 */
import { escapeForTerminal, escapeJsonForTerminal } from './terminal-text.js';

export type BodyEncoding = 'json' | 'text' | 'base64';

export interface RenderedBody {
  readonly encoding: BodyEncoding;
  /** Safe to print on a terminal. */
  readonly text: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeUtf8(content: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(content);
  } catch {
    return undefined;
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export function renderBody(content: Uint8Array): RenderedBody {
  const text = decodeUtf8(content);
  if (text === undefined) return { encoding: 'base64', text: Buffer.from(content).toString('base64') };
  if (text.trim() !== '' && isJson(text)) return { encoding: 'json', text: escapeJsonForTerminal(reindentJson(text)) };
  return { encoding: 'text', text: escapeForTerminal(text) };
}

/** Re-indents valid JSON text by two spaces, keeping every token as written. */
export function reindentJson(json: string): string {
  let out = '';
  let depth = 0;
  let inString = false;
  const newline = () => `\n${'  '.repeat(depth)}`;
  for (let index = 0; index < json.length; index += 1) {
    const character = json[index]!;
    if (inString) {
      out += character;
      if (character === '\\') out += json[++index] ?? '';
      else if (character === '"') inString = false;
      continue;
    }
    if (/\s/.test(character)) continue;
    if (character === '"') {
      inString = true;
      out += character;
    } else if (character === '{' || character === '[') {
      const close = character === '{' ? '}' : ']';
      const next = json.slice(index + 1).trimStart()[0];
      if (next === close) {
        out += character + close;
        index = json.indexOf(close, index + 1);
      } else {
        depth += 1;
        out += character + newline();
      }
    } else if (character === '}' || character === ']') {
      depth -= 1;
      out += newline() + character;
    } else if (character === ',') {
      out += character + newline();
    } else if (character === ':') {
      out += ': ';
    } else {
      out += character;
    }
  }
  return out;
}
