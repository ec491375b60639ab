/**
 * Dead letters hold whatever a producer sent, so nothing from them reaches a terminal raw: control
 * characters (C0, DEL, C1, which carry terminal escape sequences), line and paragraph separators, bidi
 * overrides (which can make text read differently from what it is) and lone surrogates are escaped as
 * `\uXXXX`. The same escaping inside JSON strings keeps the JSON valid.
 */
// `\p{Cc}` is U+0000–U+001F and U+007F–U+009F; in `u` mode `\p{Cs}` matches only a surrogate not in a pair.
const unsafeCharacter = /[\p{Cc}\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;

const unicodeEscape = (character: string) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
const shortEscapes: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Text safe to print on one line: unsafe characters and backslashes escaped, so the escaping is unambiguous. */
export function escapeForTerminal(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(unsafeCharacter, (character) => shortEscapes[character] ?? unicodeEscape(character));
}

/**
 * Valid JSON text made safe to print. Raw C0 characters in valid JSON can only be whitespace between
 * tokens (kept, for indentation); the other unsafe characters can only be inside strings, where `\uXXXX`
 * means the same character.
 */
export function escapeJsonForTerminal(json: string): string {
  return json.replace(unsafeCharacter, (character) =>
    /[\t\n\r]/.test(character) ? character : unicodeEscape(character),
  );
}
